// Package ids makes and checks the service's identifiers: <prefix>_<ULID>.
package ids

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Prefix is the type tag of an id.
type Prefix string

// Prefixes of ids this service reads or writes.
const (
	Tenant         Prefix = "ten"
	Property       Prefix = "prp"
	Operator       Prefix = "op"
	Device         Prefix = "dev"
	Reservation    Prefix = "rsv"
	Folio          Prefix = "fol"
	Session        Prefix = "bos"
	Dashboard      Prefix = "dsh"
	WorkbenchView  Prefix = "wbv"
	AISuggestion   Prefix = "aim"
	Alert          Prefix = "ali"
	Activity       Prefix = "act"
	DeviceSync     Prefix = "dsy"
	Preferences    Prefix = "opr"
	ShortcutMap    Prefix = "ksm"
	OfflineHint    Prefix = "oaq"
	LockAudit      Prefix = "lap"
	MfaAttestation Prefix = "mfa"
	Event          Prefix = "evt"
)

// ulid.Monotonic is not safe for concurrent use; the mutex keeps ids made in
// the same millisecond ordered, which keyset pagination relies on.
var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// New returns a fresh id with the given prefix.
func New(p Prefix) string {
	return NewAt(p, time.Now())
}

// NewAt returns a fresh id whose ULID time part is t.
func NewAt(p Prefix, t time.Time) string {
	mu.Lock()
	id, err := ulid.New(ulid.Timestamp(t), entropy)
	mu.Unlock()
	if err != nil {
		// Monotonic entropy overflows only after 2^80 ids in one
		// millisecond; fall back to fresh entropy rather than fail.
		id = ulid.MustNew(ulid.Timestamp(t), rand.Reader)
	}
	return string(p) + "_" + id.String()
}

// Check reports whether s is a well-formed id of prefix p.
func Check(p Prefix, s string) error {
	rest, ok := strings.CutPrefix(s, string(p)+"_")
	if !ok {
		return fmt.Errorf("must start with %q", string(p)+"_")
	}
	if len(rest) != ulid.EncodedSize {
		return fmt.Errorf("must be %s_ followed by a 26-character ULID", p)
	}
	// Only the canonical upper-case form: ids key tenancy and caches, and
	// "ten_01abc…" and "ten_01ABC…" must not name two tenants.
	if strings.ToUpper(rest) != rest {
		return fmt.Errorf("must be %s_ followed by an upper-case ULID", p)
	}
	if _, err := ulid.ParseStrict(rest); err != nil {
		return fmt.Errorf("must be %s_ followed by a valid ULID", p)
	}
	return nil
}

// Valid reports whether s is a well-formed id of prefix p.
func Valid(p Prefix, s string) bool { return Check(p, s) == nil }
