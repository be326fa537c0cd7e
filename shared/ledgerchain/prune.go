package ledgerchain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// PruneOptions tune Prune; zero values take the defaults.
type PruneOptions struct {
	// BatchLinks is the links pruned per transaction (default 5,000).
	BatchLinks int
	// MaxBatches bounds one call (default 2,000); the next call goes on.
	MaxBatches int
	Log        *slog.Logger
	// AfterLock, when set, runs in each prune transaction once it holds
	// the tenant's head and before it reads the links. Tests use it to
	// overlap two runs; an error ends the call.
	AfterLock func(ctx context.Context, tenant string) error
}

// PruneSummary is what a Prune call did.
type PruneSummary struct {
	Links   int64 `json:"links"`
	Batches int   `json:"batches"`
	// More is true when the call stopped at MaxBatches.
	More bool `json:"more"`
	// Held lists the tenants whose next prunable link does not chain from
	// the anchor: they are left as they are for verify-ledger to report.
	Held []string `json:"held,omitempty"`
}

// The export watermark and the rule for a link whose row retention may
// have taken (migration 0007's delete policy, over the link's own copy of
// the row's position and time), for queries over links c.
const (
	watermarkCTE = `wm AS (
    SELECT to_xid, to_id FROM bff.activity_export_batch
     WHERE exported_at IS NOT NULL ORDER BY seq DESC LIMIT 1
)`
	retainablePred = `c.occurred_at < now() - interval '90 days'
         AND coalesce((c.recorded_xid, c.activity_id) <= (SELECT to_xid, to_id FROM wm), false)`
	rowGonePred = `NOT EXISTS (SELECT 1 FROM bff.operator_activity a WHERE a.id = c.activity_id)`
)

// pickTenant locks the head of one tenant whose next link (after its
// anchor) has lost its row to retention. SKIP LOCKED: a tenant another run
// is pruning, or a sealer is extending, is left to it or to the next run,
// so overlapping runs divide the tenants instead of queueing on them.
const pickTenant = `WITH ` + watermarkCTE + `
SELECT h.tenant_id
  FROM bff.activity_chain_head h
  JOIN bff.activity_chain c ON c.tenant_id = h.tenant_id AND c.seq = h.anchor_seq + 1
 WHERE h.tenant_id <> ALL($1::text[])
   AND ` + retainablePred + `
   AND ` + rowGonePred + `
 ORDER BY h.tenant_id
 LIMIT 1
   FOR UPDATE OF h SKIP LOCKED`

const pruneLinks = `WITH ` + watermarkCTE + `
SELECT c.seq, c.row_hash, c.prev_hash, c.chain_hash, ` + retainablePred + ` AND ` + rowGonePred + `
  FROM bff.activity_chain c
 WHERE c.tenant_id = $1 AND c.seq > $2
 ORDER BY c.seq
 LIMIT $3`

// Prune drops the links whose rows retention has deleted, tenant by
// tenant from the start of each chain: it advances the tenant's anchor to
// the last such link and deletes the links up to it, one tenant and at
// most BatchLinks links per transaction of db (the jobs role's pool). It
// stops at a tenant's first link whose row is still there or was not
// retention's to take (young or unexported: verify-ledger's "deleted"),
// and at a link that does not chain from the one before, so pruning never
// removes the evidence of a break. The database enforces the same rules
// (migration 0012); the checks here keep a batch from being refused.
func Prune(ctx context.Context, db *pg.DB, o PruneOptions) (_ PruneSummary, err error) {
	defer derrors.Wrap(&err, "ledgerchain.Prune")
	if o.BatchLinks <= 0 {
		o.BatchLinks = 5000
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = 2000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	sum := PruneSummary{}
	// Tenants finished in this call: their next link is not prunable (or
	// does not chain), so picking them again would loop.
	done := []string{}
	for range o.MaxBatches {
		var (
			tenant string
			n      int64
			held   bool
		)
		err := db.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			tenant, n, held = "", 0, false
			err := tx.QueryRow(ctx, pickTenant, done).Scan(&tenant)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if o.AfterLock != nil {
				if err := o.AfterLock(ctx, tenant); err != nil {
					return err
				}
			}
			n, held, err = pruneTenant(ctx, tx, tenant, o.BatchLinks)
			return err
		})
		if err != nil {
			return sum, err
		}
		if tenant == "" {
			return sum, nil
		}
		if held {
			sum.Held = append(sum.Held, tenant)
			o.Log.ErrorContext(ctx, "activity ledger: hash chain not pruned: a link does not chain from its anchor", "tenant", tenant)
		}
		if n < int64(o.BatchLinks) {
			done = append(done, tenant)
		}
		if n > 0 {
			sum.Links += n
			sum.Batches++
		}
	}
	sum.More = true
	return sum, nil
}

// pruneTenant prunes up to limit links of tenant, whose head tx holds. It
// reports held when the next prunable link does not chain.
func pruneTenant(ctx context.Context, tx pgx.Tx, tenant string, limit int) (int64, bool, error) {
	// Read after the lock, in a statement of its own: a run that held
	// this head before us has moved the anchor.
	var anchorSeq int64
	var anchorB []byte
	if err := tx.QueryRow(ctx, `SELECT anchor_seq, anchor_hash FROM bff.activity_chain_head WHERE tenant_id = $1`, tenant).Scan(&anchorSeq, &anchorB); err != nil {
		return 0, false, err
	}
	prev, ok := hashOf(anchorB)
	if !ok {
		return 0, false, fmt.Errorf("tenant %s: the anchor hash is not 32 bytes", tenant)
	}
	rows, err := tx.Query(ctx, pruneLinks, tenant, anchorSeq, limit)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	next, held := anchorSeq+1, false
	for rows.Next() {
		var seq int64
		var rowB, prevB, chainB []byte
		var prunable bool
		if err := rows.Scan(&seq, &rowB, &prevB, &chainB, &prunable); err != nil {
			return 0, false, err
		}
		if !prunable {
			break
		}
		rowH, ok1 := hashOf(rowB)
		prevH, ok2 := hashOf(prevB)
		chainH, ok3 := hashOf(chainB)
		if seq != next || !ok1 || !ok2 || !ok3 || prevH != prev || ChainHash(tenant, seq, prevH, rowH) != chainH {
			held = true
			break
		}
		next, prev = seq+1, chainH
	}
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	rows.Close()
	last := next - 1
	if last == anchorSeq {
		return 0, held, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE bff.activity_chain_head SET anchor_seq = $2, anchor_hash = $3 WHERE tenant_id = $1`,
		tenant, last, prev[:]); err != nil {
		return 0, false, err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq > $2 AND seq <= $3`, tenant, anchorSeq, last)
	if err != nil {
		return 0, false, err
	}
	if want := last - anchorSeq; tag.RowsAffected() != want {
		return 0, false, fmt.Errorf("tenant %s: pruned %d links, expected %d", tenant, tag.RowsAffected(), want)
	}
	return last - anchorSeq, held, nil
}
