// Package retention is the `retention` scheduled function: Cloud Scheduler
// POSTs to it (17 3 * * *, UTC; OIDC, invoker account only) and, as the
// jobs role, it deletes operator activity rows past the 90-day hot window
// that BigQuery already holds. The database decides which rows may go
// (migration 0007's policy: older than 90 days and at or before the export
// watermark), so a mistake here can only delete less, never an unexported
// row. Deletes go in small batches, each its own short transaction, so no
// lock is held long on the hot ledger.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `retention` function as deployed.
var Function = boot.Function{Name: "retention", EntryPoint: "Retention", StartHTTP: setup.Job("retention",
	func(_ context.Context, _ boot.Lookuper, log *slog.Logger, j *setup.Jobs) (setup.Run, error) {
		return func(ctx context.Context) (any, error) { return Run(ctx, j.DB, Options{Log: log}) }, nil
	})}

func init() { Function.Register() }

// Options tune a run; zero values take the defaults.
type Options struct {
	BatchRows  int // rows per delete (default 5,000)
	MaxBatches int // per run (default 2,000); the next run goes on
	Log        *slog.Logger
}

// Summary is what one run did, as the run's 200 answer.
type Summary struct {
	Deleted int64 `json:"deleted"`
	Batches int   `json:"batches"`
	// More is true when the run stopped at MaxBatches with rows left.
	More bool `json:"more"`
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

// Run deletes what may go, batch by batch.
func Run(ctx context.Context, db *pg.DB, o Options) (_ Summary, err error) {
	defer derrors.Wrap(&err, "retention.Run")
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
