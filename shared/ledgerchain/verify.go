package ledgerchain

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// Kind is what a break is.
type Kind string

// The breaks a verification reports.
const (
	// Altered: the row's content no longer hashes to its link.
	Altered Kind = "altered"
	// Deleted: a chained row is gone, and retention could not have taken
	// it (it is younger than 90 days or not exported).
	Deleted Kind = "deleted"
	// Reordered: the row sits elsewhere in the ledger's order than where
	// it was chained (its recorded_xid changed), or, among exported rows,
	// a row holds another position's link.
	Reordered Kind = "reordered"
	// Inserted: a row inside the sealed range that no link covers.
	Inserted Kind = "inserted"
	// Link: the chain's own record is broken: a link missing, or one that
	// does not follow from the one before it.
	Link Kind = "link"
)

// Break is the first place a tenant's chain does not verify.
type Break struct {
	TenantID   string `json:"tenantId"`
	Seq        int64  `json:"seq"` // the link's position; 0 for an inserted row
	ActivityID string `json:"activityId,omitempty"`
	Kind       Kind   `json:"kind"`
	Detail     string `json:"detail"`
}

func (b Break) String() string {
	return fmt.Sprintf("tenant %s: %s at link %d (%s): %s", b.TenantID, b.Kind, b.Seq, b.ActivityID, b.Detail)
}

// Report is a verification's result.
type Report struct {
	Source  string `json:"source"` // "postgres" or "export"
	Tenants int    `json:"tenants"`
	// Rows counts the rows whose link verified; Pruned the links whose
	// row retention took (past 90 days and exported) and that are still
	// kept; Anchored the links retention has pruned since, behind the
	// tenants' anchors (Postgres only).
	Rows     int64 `json:"rows"`
	Pruned   int64 `json:"pruned"`
	Anchored int64 `json:"anchored"`
	// Breaks holds each broken tenant's first break, by tenant id.
	Breaks []Break `json:"breaks"`
	// Heads are each tenant's last verified link, "seq:chainHash" in hex:
	// comparing the two sources' heads ties Postgres to what BigQuery has.
	Heads map[string]string `json:"heads"`
}

// OK reports whether every chain verified.
func (r *Report) OK() bool { return len(r.Breaks) == 0 }

// walker checks links tenant by tenant, in seq order within a tenant.
type walker struct {
	rep    *Report
	tenant string
	next   int64
	prev   Hash
	broken bool
	heads  map[string]head // anchors (postgres) or nil (export: the first row anchors)
	walked map[string]bool
}

func newWalker(source string, anchors map[string]head) *walker {
	return &walker{rep: &Report{Source: source, Breaks: []Break{}, Heads: map[string]string{}}, heads: anchors, walked: map[string]bool{}}
}

// start begins tenant t's chain at its anchor, or, without one, at the
// first link seen (seq, prev).
func (w *walker) start(t string, seq int64, prev Hash) {
	w.tenant, w.broken = t, false
	w.walked[t] = true
	w.rep.Tenants++
	if a, ok := w.heads[t]; ok {
		w.next, w.prev = a.seq+1, a.hash
		return
	}
	w.next, w.prev = seq, prev
}

func (w *walker) fail(seq int64, id string, k Kind, format string, args ...any) {
	w.broken = true
	w.rep.Breaks = append(w.rep.Breaks, Break{TenantID: w.tenant, Seq: seq, ActivityID: id, Kind: k, Detail: fmt.Sprintf(format, args...)})
}

// link checks that a link follows the one before: its position, its
// predecessor and its own hash. It reports false after a break.
func (w *walker) link(seq int64, id string, row, prev, chain Hash) bool {
	switch {
	case seq != w.next:
		w.fail(w.next, id, Link, "link %d is missing (the next link is %d)", w.next, seq)
	case prev != w.prev:
		w.fail(seq, id, Link, "the link does not chain from link %d", seq-1)
	case ChainHash(w.tenant, seq, prev, row) != chain:
		w.fail(seq, id, Link, "the link's hash does not match its content")
	default:
		w.next, w.prev = seq+1, chain
		w.rep.Heads[w.tenant] = fmt.Sprintf("%d:%s", seq, hex.EncodeToString(chain[:]))
		return true
	}
	return false
}

func (w *walker) finish() {
	slices.SortFunc(w.rep.Breaks, func(a, b Break) int { return strings.Compare(a.TenantID, b.TenantID) })
}

// VerifyPostgres recomputes every tenant's chain over Postgres (db is the
// jobs role's pool) and reports each tenant's first break. A link whose
// row is gone is fine when retention may have taken it (older than 90
// days, at or before the export watermark) and a deletion otherwise.
func VerifyPostgres(ctx context.Context, db *pg.DB) (_ *Report, err error) {
	defer derrors.Wrap(&err, "ledgerchain.VerifyPostgres")
	w := newWalker("postgres", nil)
	err = db.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// One snapshot for every statement: a seal or a retention run
		// committing meanwhile must not look like a break.
		if _, err := tx.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"); err != nil {
			return err
		}
		var err error
		var headSeqs map[string]int64
		w.heads, headSeqs, err = anchors(ctx, tx)
		if err != nil {
			return err
		}
		if err := verifyLinks(ctx, tx, w); err != nil {
			return err
		}
		verifyLinkless(w, headSeqs)
		return verifyUnlinked(ctx, tx, w)
	})
	if err != nil {
		return nil, err
	}
	w.finish()
	return w.rep, nil
}

// anchors are where each tenant's chain starts in Postgres: after its
// pruned links (0 and Genesis until any is pruned); and each head's seq,
// where the chain must end.
func anchors(ctx context.Context, tx pgx.Tx) (map[string]head, map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT tenant_id, anchor_seq, anchor_hash, seq FROM bff.activity_chain_head`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out, seqs := map[string]head{}, map[string]int64{}
	for rows.Next() {
		var t string
		var s, hs int64
		var b []byte
		if err := rows.Scan(&t, &s, &b, &hs); err != nil {
			return nil, nil, err
		}
		h, ok := hashOf(b)
		if !ok {
			return nil, nil, fmt.Errorf("tenant %s: the anchor hash is not 32 bytes", t)
		}
		out[t], seqs[t] = head{seq: s, hash: h}, hs
	}
	return out, seqs, rows.Err()
}

// verifyLinkless checks the tenants that have a head but no link left:
// fine when retention pruned the whole chain (the anchor is the head),
// and a missing link otherwise. It also totals the pruned links.
func verifyLinkless(w *walker, headSeqs map[string]int64) {
	tenants := make([]string, 0, len(headSeqs))
	for t := range headSeqs {
		tenants = append(tenants, t)
	}
	slices.Sort(tenants)
	for _, t := range tenants {
		a := w.heads[t]
		w.rep.Anchored += a.seq
		if w.walked[t] {
			continue
		}
		w.rep.Tenants++
		if hs := headSeqs[t]; a.seq != hs {
			w.rep.Breaks = append(w.rep.Breaks, Break{TenantID: t, Seq: a.seq + 1, Kind: Link,
				Detail: fmt.Sprintf("links %d to %d are missing (the head says %d, the anchor %d)", a.seq+1, hs, hs, a.seq)})
			continue
		}
		w.rep.Heads[t] = fmt.Sprintf("%d:%s", a.seq, hex.EncodeToString(a.hash[:]))
	}
}

const linksSQL = `WITH ` + watermarkCTE + `
SELECT c.tenant_id, c.seq, c.activity_id, c.recorded_xid::text, c.row_hash, c.prev_hash, c.chain_hash,
       ` + retainablePred + `,
       h.seq,
       a.id IS NOT NULL, a.recorded_xid::text, ` + rowColumns + `
  FROM bff.activity_chain c
  LEFT JOIN bff.activity_chain_head h ON h.tenant_id = c.tenant_id
  LEFT JOIN bff.operator_activity a ON a.id = c.activity_id
 ORDER BY c.tenant_id, c.seq`

func verifyLinks(ctx context.Context, tx pgx.Tx, w *walker) error {
	rows, err := tx.Query(ctx, linksSQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	var headSeq int64 // of the tenant being walked
	var lastSeq int64
	endTenant := func() {
		if w.tenant != "" && !w.broken && lastSeq != headSeq {
			w.fail(lastSeq+1, "", Link, "the chain ends at link %d, its head says %d", lastSeq, headSeq)
		}
	}
	for rows.Next() {
		var (
			tenant, id, xid        string
			seq                    int64
			rowB, prevB, chainB    []byte
			prunable, present      bool
			hs                     *int64
			axid                   *string
			r                      Row
			rID, rTenant, rOp, rDv *string
			rCat, rAct, rOut, rReq *string
			rAt                    *time.Time
			rLat                   *int64
		)
		dest := []any{&tenant, &seq, &id, &xid, &rowB, &prevB, &chainB, &prunable, &hs, &present, &axid,
			&rID, &rTenant, &r.PropertyID, &rOp, &rDv, &r.SessionID, &rAt,
			&rCat, &rAct, &r.ResourceKind, &r.ResourceID, &rOut, &rLat,
			&r.ErrorCode, &r.ErrorMessage, &r.ContextHash, &rReq}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if tenant != w.tenant {
			endTenant()
			w.start(tenant, 1, Genesis)
			headSeq, lastSeq = 0, w.next-1
			if hs != nil {
				headSeq = *hs
			}
		}
		if w.broken {
			continue
		}
		rowH, ok1 := hashOf(rowB)
		prevH, ok2 := hashOf(prevB)
		chainH, ok3 := hashOf(chainB)
		if !ok1 || !ok2 || !ok3 {
			w.fail(seq, id, Link, "a hash of the link is not 32 bytes")
			continue
		}
		if !w.link(seq, id, rowH, prevH, chainH) {
			continue
		}
		lastSeq = seq
		switch {
		case !present && prunable:
			w.rep.Pruned++
		case !present:
			w.fail(seq, id, Deleted, "the row is gone, and retention may not have taken it (younger than 90 days or not exported)")
		case *axid != xid:
			w.fail(seq, id, Reordered, "the row was chained at position %s/%s and now sits at %s", xid, id, *axid)
		default:
			r.ID, r.TenantID, r.OperatorID, r.DeviceID = *rID, *rTenant, *rOp, *rDv
			r.OccurredAt, r.Category, r.Action, r.Outcome, r.LatencyMs, r.RequestID = *rAt, *rCat, *rAct, *rOut, *rLat, *rReq
			if r.TenantID != tenant || RowHash(&r) != rowH {
				w.fail(seq, id, Altered, "the row's content differs from what was chained")
				continue
			}
			w.rep.Rows++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	endTenant()
	return nil
}

// verifyUnlinked reports rows inside the sealed range that no link covers:
// a row slipped in behind the seal (the sealer chains every row it passes).
func verifyUnlinked(ctx context.Context, tx pgx.Tx, w *walker) error {
	rows, err := tx.Query(ctx, `SELECT a.tenant_id, a.id, a.recorded_xid::text
  FROM bff.operator_activity a, bff.activity_chain_seal s
 WHERE (a.recorded_xid, a.id) <= (s.sealed_xid, s.sealed_id)
   AND NOT EXISTS (SELECT 1 FROM bff.activity_chain c WHERE c.activity_id = a.id)
 ORDER BY a.tenant_id, a.recorded_xid, a.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	broken := map[string]bool{}
	for _, b := range w.rep.Breaks {
		broken[b.TenantID] = true
	}
	for rows.Next() {
		var t, id, xid string
		if err := rows.Scan(&t, &id, &xid); err != nil {
			return err
		}
		if broken[t] {
			continue
		}
		broken[t] = true
		w.rep.Breaks = append(w.rep.Breaks, Break{TenantID: t, ActivityID: id, Kind: Inserted,
			Detail: fmt.Sprintf("the row at %s/%s lies inside the sealed range and no link covers it", xid, id)})
	}
	return rows.Err()
}
