package inbox

import (
	"bytes"
	"crypto/sha256"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// EntryID is the inbox entry id of an upstream item: a ULID whose time is
// when the item arose and whose randomness is derived from (tenant,
// upstream id). Derived rather than stored, so the id a desktop holds stays
// valid when the Redis mirror is rebuilt from the upstream, and every
// instance agrees on it without coordination; the time part keeps ids in
// the order the items arose.
func EntryID(p ids.Prefix, tenantID, upstreamID string, at time.Time) string {
	h := sha256.New()
	h.Write([]byte(string(p)))
	h.Write([]byte{0})
	h.Write([]byte(tenantID))
	h.Write([]byte{0})
	h.Write([]byte(upstreamID))
	sum := h.Sum(nil)
	ms := ulid.Timestamp(at)
	if ms > ulid.MaxTime() {
		ms = ulid.MaxTime()
	}
	id, err := ulid.New(ms, bytes.NewReader(sum[:10]))
	if err != nil {
		// Unreachable: the reader holds the 10 bytes ulid.New reads, and
		// the time is clamped to what a ULID can hold.
		id = ulid.ULID{}
	}
	return string(p) + "_" + id.String()
}
