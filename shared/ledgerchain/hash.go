// Package ledgerchain makes the operator activity ledger tamper-evident:
// each tenant's rows form a hash chain, sealed by one job at a time after
// the rows have committed (Seal), and recomputed over Postgres
// (VerifyPostgres) and over the rows exported to BigQuery (VerifyExported),
// which report the first break of each tenant's chain.
//
// Why after the fact: the gate writes one activity row per request, on
// the latency-critical path. A chain head updated in the insert's
// transaction would cost a round trip and serialise a tenant's writers on
// one row lock held until commit. Sealing reads what has committed instead,
// in the exporter's (recorded_xid, id) order below the oldest running
// transaction (pg_snapshot_xmin), where no late commit can still land: the
// order of a sealed range never changes, so the chain is only ever
// extended. The price is a window (from a row's commit to the next seal)
// in which a row is not yet chained; the export never ships a row before
// it is sealed.
package ledgerchain

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// HashSize is the size of a row hash and of a chain hash.
const HashSize = sha256.Size

// Hash is a row hash or a chain hash.
type Hash [HashSize]byte

// Genesis is what a tenant's first link chains from.
var Genesis Hash

// Row is an activity row's content as the chain covers it: every column
// but recorded_xid (its position, which the chain's order covers). Nil
// pointers are NULLs.
type Row struct {
	ID           string
	TenantID     string
	PropertyID   *string
	OperatorID   string
	DeviceID     string
	SessionID    *string
	OccurredAt   time.Time // microseconds, as Postgres and BigQuery hold it
	Category     string
	Action       string
	ResourceKind *string
	ResourceID   *string
	Outcome      string
	LatencyMs    int64
	ErrorCode    *string
	ErrorMessage *string
	ContextHash  *string
	RequestID    string
}

// RowHash is the SHA-256 of r's canonical encoding: a version tag, then
// each column in a fixed order, strings length-prefixed and optional ones
// preceded by a presence byte, so no two rows encode alike (NULL and ""
// differ, and no field can bleed into the next).
func RowHash(r *Row) Hash {
	b := make([]byte, 0, 512)
	str := func(s string) []byte {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	opt := func(s *string) []byte {
		if s == nil {
			return append(b, 0)
		}
		b = append(b, 1)
		return str(*s)
	}
	b = str("melmastoon activity row v1")
	b = str(r.ID)
	b = str(r.TenantID)
	b = opt(r.PropertyID)
	b = str(r.OperatorID)
	b = str(r.DeviceID)
	b = opt(r.SessionID)
	b = binary.BigEndian.AppendUint64(b, uint64(r.OccurredAt.UnixMicro()))
	b = str(r.Category)
	b = str(r.Action)
	b = opt(r.ResourceKind)
	b = opt(r.ResourceID)
	b = str(r.Outcome)
	b = binary.BigEndian.AppendUint64(b, uint64(r.LatencyMs))
	b = opt(r.ErrorCode)
	b = opt(r.ErrorMessage)
	b = opt(r.ContextHash)
	b = str(r.RequestID)
	return sha256.Sum256(b)
}

// ChainHash is link seq of tenant's chain: it binds the row's hash to its
// position and to everything before it.
func ChainHash(tenantID string, seq int64, prev, row Hash) Hash {
	b := make([]byte, 0, 128)
	b = binary.AppendUvarint(b, uint64(len("melmastoon activity chain v1")))
	b = append(b, "melmastoon activity chain v1"...)
	b = binary.AppendUvarint(b, uint64(len(tenantID)))
	b = append(b, tenantID...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = append(b, prev[:]...)
	b = append(b, row[:]...)
	return sha256.Sum256(b)
}

func hashOf(b []byte) (Hash, bool) {
	var h Hash
	if len(b) != HashSize {
		return h, false
	}
	copy(h[:], b)
	return h, true
}
