// Package retention is the `retention` scheduled function: Cloud Scheduler
// POSTs to it (17 3 * * *, UTC; OIDC, invoker account only) and, as the
// jobs role, it deletes operator activity rows past the 90-day hot window
// that BigQuery already holds. The database decides which rows may go
// (migration 0007's policy: older than 90 days and at or before the export
// watermark), so a mistake here can only delete less, never an unexported
// row. Deletes go in small batches, each its own short transaction, so no
// lock is held long on the hot ledger.
//
// Then it prunes the hash chain's links whose rows it has deleted
// (ledgerchain.Prune): each tenant's anchor moves past them and they go,
// in one short transaction per tenant and batch, so bff.activity_chain
// keeps the 90-day window too. Migration 0012 lets bff_jobs delete a link
// only behind an anchor that passed nothing but retention's deletions, so
// verification from the anchor still finds every other break.
//
// It also clears the offline hints (OfflineActionQueueHint) of live
// devices reported more than 7 days ago; the database again decides
// (migration 0011: bff_jobs may only empty a hint past 7 days), so a
// heartbeat that brings a fresh hint while a batch runs keeps it.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `retention` function as deployed.
var Function = boot.Function{Name: "retention", EntryPoint: "Retention", StartHTTP: setup.Job("retention",
	func(log *slog.Logger, j *setup.Jobs) setup.Run {
		return func(ctx context.Context) (any, error) { return Run(ctx, j.DB, Options{Log: log}) }
	})}

func init() { Function.Register() }

// Options tune a run; zero values take the defaults.
type Options struct {
	BatchRows  int // rows per delete (default 5,000)
	MaxBatches int // per run (default 2,000); the next run goes on
	Log        *slog.Logger
	// AfterPruneLock is ledgerchain.PruneOptions.AfterLock: tests use it
	// to overlap two runs' pruning.
	AfterPruneLock func(ctx context.Context, tenant string) error
}

// Summary is what one run did, as the run's 200 answer.
type Summary struct {
	Deleted int64 `json:"deleted"`
	Batches int   `json:"batches"`
	// More is true when the run stopped at MaxBatches with rows left.
	More bool `json:"more"`
	// LinksPruned counts the hash chain's links pruned with their rows;
	// PruneHeld the tenants whose chain was not pruned because a link
	// does not chain (verify-ledger reports it).
	LinksPruned int64    `json:"linksPruned"`
	PruneHeld   []string `json:"pruneHeld,omitempty"`
	// HintsCleared counts the offline hints past 7 days emptied.
	HintsCleared int64 `json:"hintsCleared"`
}

// deleteBatch deletes up to $1 of the oldest exported rows in the
// exporter's order ((recorded_xid, id), which its index serves): it looks
// at the first $1 rows at or before the watermark and deletes those past
// 90 days. Oldest first means the run ends at the first batch that holds
// a row still hot, after bounded work, instead of scanning the hot rows
// for stragglers; the policy re-checks every row.
const deleteBatch = `WITH wm AS (
    SELECT to_xid, to_id FROM bff.activity_export_batch
     WHERE exported_at IS NOT NULL ORDER BY seq DESC LIMIT 1
), head AS (
    SELECT a.id, a.occurred_at FROM bff.operator_activity a, wm
     WHERE (a.recorded_xid, a.id) <= (wm.to_xid, wm.to_id)
     ORDER BY a.recorded_xid, a.id LIMIT $1
)
DELETE FROM bff.operator_activity a
 USING head
 WHERE a.id = head.id AND head.occurred_at < now() - interval '90 days'
RETURNING (SELECT count(*) FROM head)`

// clearHints empties up to $1 hints past 7 days, oldest first. Rows a
// concurrent heartbeat holds are skipped (the next run takes them, or the
// heartbeat has replaced the hint); the UPDATE re-checks the age on the
// row it locked, and the policy checks it again.
const clearHints = `WITH old AS (
    SELECT tenant_id, device_id FROM bff.device_sync
     WHERE pending_reported_at IS NOT NULL AND deleted_at IS NULL
       AND pending_reported_at < now() - interval '7 days'
     ORDER BY pending_reported_at LIMIT $1
       FOR UPDATE SKIP LOCKED
)
UPDATE bff.device_sync d SET hint_id = NULL, pending = NULL, pending_reported_at = NULL
  FROM old
 WHERE d.tenant_id = old.tenant_id AND d.device_id = old.device_id
   AND d.deleted_at IS NULL AND d.pending_reported_at < now() - interval '7 days'`

// Run deletes what may go, batch by batch: the ledger's rows, their
// chain links, then the expired offline hints.
func Run(ctx context.Context, db *pg.DB, o Options) (_ Summary, err error) {
	defer derrors.Wrap(&err, "retention.Run")
	sum, err := deleteActivity(ctx, db, &o)
	if err != nil {
		return sum, err
	}
	// Also after a run that deleted nothing: a previous run may have
	// stopped between its deletes and its pruning.
	ps, err := ledgerchain.Prune(ctx, db, ledgerchain.PruneOptions{BatchLinks: o.BatchRows, MaxBatches: o.MaxBatches,
		Log: o.Log, AfterLock: o.AfterPruneLock})
	sum.LinksPruned, sum.PruneHeld = ps.Links, ps.Held
	sum.More = sum.More || ps.More
	if err != nil {
		return sum, err
	}
	if ps.Links > 0 {
		o.Log.InfoContext(ctx, "retention: chain links pruned", "links", ps.Links, "batches", ps.Batches)
	}
	for range o.MaxBatches {
		var n int64
		err := db.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, clearHints, o.BatchRows)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return sum, err
		}
		sum.HintsCleared += n
		if n < int64(o.BatchRows) {
			break
		}
	}
	if sum.HintsCleared > 0 {
		o.Log.InfoContext(ctx, "retention: offline hints cleared", "hints", sum.HintsCleared)
	}
	return sum, nil
}

// deleteActivity deletes the ledger rows that may go.
func deleteActivity(ctx context.Context, db *pg.DB, o *Options) (Summary, error) {
	if o.BatchRows <= 0 {
		o.BatchRows = 5000
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = 2000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var sum Summary
	for range o.MaxBatches {
		var deleted, looked int64
		start := time.Now()
		err := db.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			deleted, looked = 0, 0
			rows, err := tx.Query(ctx, deleteBatch, o.BatchRows)
			if err != nil {
				return err
			}
			for rows.Next() {
				if err := rows.Scan(&looked); err != nil {
					rows.Close()
					return err
				}
				deleted++
			}
			return rows.Err()
		})
		if err != nil {
			return sum, err
		}
		if deleted == 0 {
			return sum, nil
		}
		sum.Deleted += deleted
		sum.Batches++
		o.Log.InfoContext(ctx, "retention: batch deleted", "rows", deleted, "took", time.Since(start))
		if deleted < looked || looked < int64(o.BatchRows) {
			// A hot row in the head, or the exported rows are done.
			return sum, nil
		}
	}
	sum.More = true
	return sum, nil
}
