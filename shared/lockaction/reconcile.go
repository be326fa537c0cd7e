package lockaction

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/upstream/lock"
)

// ReconcileOptions tune one reconciliation run.
type ReconcileOptions struct {
	// Grace is how old an unsettled row must be before lock-service is
	// asked about it. It must outlast lock-service's call timeout: a
	// request still in flight may yet reach lock-service, and "never
	// received" is only the truth once it no longer can. Default 2 min.
	Grace time.Duration
	// Limit bounds the rows one run looks at (default 200); the next run
	// takes the rest.
	Limit int
}

// ReconcileSummary is what a run did.
type ReconcileSummary struct {
	Checked int `json:"checked"`
	Success int `json:"success"`
	Failure int `json:"failure"`
	// Pending are rows lock-service could not be asked about this time.
	Pending int `json:"pending"`
}

// NeverReceived is the error code of a row whose request lock-service
// never received: nothing was done.
const NeverReceived = "MELMASTOON.BFF.BACKOFFICE.LOCK_REQUEST_NEVER_RECEIVED"

type unsettled struct {
	TenantID, ID, PropertyID, UpstreamRequestID string
}

// Reconcile settles, as the jobs role and across tenants, the audit rows
// left 'unknown' because lock-service's answer was lost: lock-service is
// asked by upstream request id, and each row gets its true outcome —
// success with the keys it touched, the refusal, or failure when the
// request never arrived. A settlement only ever moves an 'unknown' row, so
// a run racing the request itself (or another run) changes nothing twice.
func Reconcile(ctx context.Context, jobs *pg.DB, lk *lock.Client, o ReconcileOptions) (_ ReconcileSummary, err error) {
	defer derrors.Wrap(&err, "lockaction.Reconcile")
	if o.Grace <= 0 {
		o.Grace = 2 * time.Minute
	}
	if o.Limit <= 0 || o.Limit > 1000 {
		o.Limit = 200
	}
	var rows []unsettled
	err = jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		r, err := tx.Query(ctx, `SELECT tenant_id, id, property_id, upstream_request_id
			FROM bff.lock_action_audit
			WHERE outcome = 'unknown' AND occurred_at < now() - make_interval(secs => $1)
			ORDER BY occurred_at LIMIT $2`, o.Grace.Seconds(), o.Limit)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(r, pgx.RowToStructByPos[unsettled])
		return err
	})
	if err != nil {
		return ReconcileSummary{}, err
	}
	var sum ReconcileSummary
	for _, u := range rows {
		sum.Checked++
		start := time.Now()
		res, err := lk.Lookup(ctx, u.TenantID, u.PropertyID, u.UpstreamRequestID)
		st := settlement{LatencyMs: time.Since(start).Milliseconds(), By: "reconcile"}
		var ref *lock.Refusal
		switch {
		case err == nil:
			st.Outcome, st.Vendor, st.KeyIDs = OutcomeSuccess, res.Vendor, res.KeyIDs
		case errors.As(err, &ref):
			st.Outcome, st.ErrorCode = OutcomeFailure, ref.Code
		case errors.Is(err, lock.ErrNeverReceived):
			st.Outcome, st.ErrorCode = OutcomeFailure, NeverReceived
		default:
			sum.Pending++
			continue
		}
		if err := jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			return settleTx(ctx, tx, u.TenantID, u.ID, st)
		}); err != nil {
			return sum, fmt.Errorf("settle %s: %w", u.ID, err)
		}
		if st.Outcome == OutcomeSuccess {
			sum.Success++
		} else {
			sum.Failure++
		}
	}
	return sum, nil
}
