package ledgerchain

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// Exported is an activity row as export-activity loads it into BigQuery
// (melmastoon_audit.operator_activity): the domain model's camelCase
// names, the request id, and the row's link.
type Exported struct {
	ID          string       `json:"id"`
	TenantID    string       `json:"tenantId"`
	PropertyID  *string      `json:"propertyId"`
	OperatorID  string       `json:"operatorId"`
	DeviceID    string       `json:"deviceId"`
	SessionID   *string      `json:"sessionId"`
	OccurredAt  string       `json:"occurredAt"` // RFC 3339, microseconds
	Category    string       `json:"category"`
	Action      string       `json:"action"`
	ResourceRef *ExportedRef `json:"resourceRef"`
	Outcome     string       `json:"outcome"`
	LatencyMs   int64        `json:"latencyMs"`
	Error       *ExportedErr `json:"error"`
	ContextHash *string      `json:"contextHash"`
	RequestID   string       `json:"requestId"`
	// The link: position in the tenant's chain, the previous link's hash
	// and this one's, in hex. Absent on rows exported before the chain.
	ChainSeq  *int64  `json:"chainSeq"`
	PrevHash  *string `json:"prevHash"`
	ChainHash *string `json:"chainHash"`
}

// ExportedRef is an exported row's resource.
type ExportedRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// ExportedErr is an exported row's error.
type ExportedErr struct {
	Code    string  `json:"code"`
	Message *string `json:"message"`
}

// Row is e's content as the chain hashes it.
func (e *Exported) Row() (Row, error) {
	at, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
	if err != nil {
		return Row{}, fmt.Errorf("occurredAt: %w", err)
	}
	r := Row{ID: e.ID, TenantID: e.TenantID, PropertyID: e.PropertyID, OperatorID: e.OperatorID, DeviceID: e.DeviceID,
		SessionID: e.SessionID, OccurredAt: at, Category: e.Category, Action: e.Action, Outcome: e.Outcome,
		LatencyMs: e.LatencyMs, ContextHash: e.ContextHash, RequestID: e.RequestID}
	if e.ResourceRef != nil {
		r.ResourceKind, r.ResourceID = &e.ResourceRef.Kind, &e.ResourceRef.ID
	}
	if e.Error != nil {
		r.ErrorCode, r.ErrorMessage = &e.Error.Code, e.Error.Message
	}
	return r, nil
}

// VerifyExported recomputes each tenant's chain over rows exported to
// BigQuery, in any order (they are sorted by tenant and position here),
// and reports each tenant's first break. It holds every row: tests use it;
// the verify-ledger job streams BigQuery's sorted answer through an
// ExportedWalk instead.
func VerifyExported(rows []Exported) *Report {
	linked := make([]*Exported, 0, len(rows))
	for i := range rows {
		if rows[i].ChainSeq != nil {
			linked = append(linked, &rows[i])
		}
	}
	slices.SortStableFunc(linked, func(a, b *Exported) int {
		return cmp.Or(cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(*a.ChainSeq, *b.ChainSeq))
	})
	x := NewExportedWalk()
	for _, e := range linked {
		_ = x.Add(e) // sorted above: never out of order
	}
	return x.Report()
}

// ExportedWalk verifies exported rows fed in (tenantId, chainSeq) order,
// one at a time, holding one tenant's position and the report: memory does
// not grow with the rows. A tenant's chain starts at its first exported
// link (link 1, from Genesis, unless partitions past seven years have
// expired); rows exported before the chain existed carry no link and are
// skipped. A missing row is a missing link; a row edited in BigQuery no
// longer hashes to its link; two rows swapped hold each other's links,
// which do not chain.
type ExportedWalk struct {
	w       *walker
	lastSeq int64
	done    bool
}

// NewExportedWalk starts a verification of exported rows.
func NewExportedWalk() *ExportedWalk { return &ExportedWalk{w: newWalker("export", nil)} }

// Add checks the next row. It refuses a row out of (tenantId, chainSeq)
// order: the source did not sort, and a walk over unsorted rows would
// report breaks that are not there.
func (x *ExportedWalk) Add(e *Exported) error {
	if e.ChainSeq == nil {
		return nil
	}
	w, seq := x.w, *e.ChainSeq
	if e.TenantID < w.tenant || e.TenantID == w.tenant && seq < x.lastSeq {
		return fmt.Errorf("row %s (tenant %s, link %d) after tenant %s link %d: the rows are not in (tenantId, chainSeq) order",
			e.ID, e.TenantID, seq, w.tenant, x.lastSeq)
	}
	x.lastSeq = seq
	prev, okP := parseHash(e.PrevHash)
	chain, okC := parseHash(e.ChainHash)
	if e.TenantID != w.tenant || w.rep.Tenants == 0 {
		w.start(e.TenantID, seq, prev)
	}
	if w.broken {
		return nil
	}
	if !okP || !okC {
		w.fail(seq, e.ID, Link, "the row's prevHash or chainHash is not 64 hex digits")
		return nil
	}
	r, err := e.Row()
	if err != nil {
		w.fail(seq, e.ID, Altered, "%v", err)
		return nil
	}
	rh := RowHash(&r)
	switch {
	case seq > w.next:
		w.fail(w.next, e.ID, Deleted, "links %d..%d are missing: their rows are gone", w.next, seq-1)
		return nil
	case seq == w.next && prev != w.prev:
		w.fail(seq, e.ID, Reordered, "the row at link %d does not chain from link %d: rows out of their order", seq, seq-1)
		return nil
	case seq == w.next && ChainHash(e.TenantID, seq, prev, rh) != chain:
		w.fail(seq, e.ID, Altered, "the row's content no longer hashes to its link")
		return nil
	}
	if w.link(seq, e.ID, rh, prev, chain) {
		w.rep.Rows++
	}
	return nil
}

// Report ends the walk and returns what it found.
func (x *ExportedWalk) Report() *Report {
	if !x.done {
		x.done = true
		x.w.finish()
	}
	return x.w.rep
}

func parseHash(s *string) (Hash, bool) {
	var h Hash
	if s == nil || len(*s) != 2*HashSize {
		return h, false
	}
	b, err := hex.DecodeString(*s)
	if err != nil {
		return h, false
	}
	copy(h[:], b)
	return h, true
}
