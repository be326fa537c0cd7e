package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

// ForwardStats counts what one RetryForwards did.
type ForwardStats struct {
	Forwarded int `json:"forwarded"`
	// Refused: the service answered 404 or 409 — it does not know the
	// suggestion, or holds another decision; retrying cannot help, so the
	// decision is marked and logged at ERROR for a human.
	Refused int `json:"refused"`
	Failed  int `json:"failed"` // left for the next run
}

// ForwardOptions tune RetryForwards; the zero value is the production setting.
type ForwardOptions struct {
	// MinAge leaves decisions younger than this to the request that is
	// probably forwarding them (default 1 min; negative: none).
	MinAge time.Duration
	Batch  int // default 100
	Log    *slog.Logger
}

// RetryForwards hands to ai-orchestrator-service, across tenants and as
// the jobs role, the decisions whose forward after commit failed. The
// service deduplicates by decisionId, so a decision forwarded twice (two
// overlapping runs, a run racing the request) has no further effect.
func RetryForwards(ctx context.Context, jobs *pg.DB, ai *aiorchestrator.Client, o ForwardOptions) (_ ForwardStats, err error) {
	defer derrors.Wrap(&err, "inbox.RetryForwards")
	var st ForwardStats
	if o.MinAge == 0 {
		o.MinAge = time.Minute
	}
	if o.MinAge < 0 {
		o.MinAge = 0
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	type pending struct {
		tenantID string
		d        recorded
	}
	var todo []pending
	err = jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id, `+decisionColumns+` FROM bff.ai_decision
			WHERE forwarded_at IS NULL AND decided_at <= now() - make_interval(secs => $1)
			ORDER BY decided_at LIMIT $2`, o.MinAge.Seconds(), o.Batch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				p     pending
				delta []byte
			)
			if err := rows.Scan(&p.tenantID, &p.d.ID, &p.d.PropertyID, &p.d.SuggestionID, &p.d.Decision.Outcome, &delta,
				&p.d.Decision.Notes, &p.d.DecidedBy, &p.d.DecidedDeviceID, &p.d.DecidedAt); err != nil {
				return err
			}
			if len(delta) > 0 {
				p.d.Decision.ModifiedDelta = delta
			}
			todo = append(todo, p)
		}
		return rows.Err()
	})
	if err != nil {
		return st, fmt.Errorf("read: %w", err)
	}
	for _, p := range todo {
		err := ai.RecordDecision(ctx, p.tenantID, p.d.PropertyID, p.d.SuggestionID, decisionOf(p.d))
		switch {
		case err == nil:
			st.Forwarded++
		case errors.Is(err, aiorchestrator.ErrConflict), errors.Is(err, aiorchestrator.ErrNotFound):
			st.Refused++
			log.ErrorContext(ctx, "ai decision refused by ai-orchestrator-service; not retried",
				"tenantId", p.tenantID, "entryId", p.d.ID, "suggestionId", p.d.SuggestionID, "err", err)
		default:
			st.Failed++
			log.WarnContext(ctx, "ai decision forward failed; retried next run", "tenantId", p.tenantID, "entryId", p.d.ID, "err", err)
			continue
		}
		if err := jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE bff.ai_decision SET forwarded_at = now()
				WHERE tenant_id = $1 AND id = $2 AND forwarded_at IS NULL`, p.tenantID, p.d.ID)
			return err
		}); err != nil {
			return st, fmt.Errorf("mark %s: %w", p.d.ID, err)
		}
	}
	return st, nil
}

// decisionOf is what ai-orchestrator-service receives for a recorded
// decision.
func decisionOf(d recorded) aiorchestrator.Decision {
	return aiorchestrator.Decision{
		DecisionID: d.ID, Outcome: d.Decision.Outcome, ModifiedDelta: d.Decision.ModifiedDelta, Notes: d.Decision.Notes,
		DecidedBy: d.DecidedBy, DecidedAt: jsontime.Of(d.DecidedAt), DecidedDeviceID: d.DecidedDeviceID,
	}
}
