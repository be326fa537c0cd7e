// Package verifyledger is the `verify-ledger` scheduled function: Cloud
// Scheduler POSTs to it (37 4 * * *, UTC; OIDC, invoker account only) and,
// as the jobs role, it recomputes every tenant's hash chain over the
// operator activity ledger in Postgres (shared/ledgerchain): each row
// against its link, each link against the one before, rows slipped in
// behind the seal, links whose rows are gone without retention having
// taken them. A break is logged at ERROR (one entry per broken tenant,
// with the tenant, the link and what broke: the alert to page on) and
// returned in the 200 answer; it is not a failed run, since a retry would
// find the same break.
package verifyledger

import (
	"context"
	"log/slog"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `verify-ledger` function as deployed.
var Function = boot.Function{Name: "verify-ledger", EntryPoint: "VerifyLedger", StartHTTP: setup.Job("verify-ledger",
	func(_ context.Context, _ boot.Lookuper, log *slog.Logger, j *setup.Jobs) (setup.Run, error) {
		return func(ctx context.Context) (any, error) { return Run(ctx, j.DB, log) }, nil
	})}

func init() { Function.Register() }

// Summary is what one run found, as the run's 200 answer.
type Summary struct {
	OK bool `json:"ok"`
	*ledgerchain.Report
}

// Run verifies the ledger's chains over db (the jobs role's pool).
func Run(ctx context.Context, db *pg.DB, log *slog.Logger) (Summary, error) {
	rep, err := ledgerchain.VerifyPostgres(ctx, db)
	if err != nil {
		return Summary{}, err
	}
	for _, b := range rep.Breaks {
		log.ErrorContext(ctx, "activity ledger: hash chain broken", "tenantId", b.TenantID, "seq", b.Seq,
			"activityId", b.ActivityID, "kind", string(b.Kind), "detail", b.Detail)
	}
	log.InfoContext(ctx, "activity ledger: chains verified", "tenants", rep.Tenants, "rows", rep.Rows,
		"pruned", rep.Pruned, "breaks", len(rep.Breaks))
	return Summary{OK: rep.OK(), Report: rep}, nil
}
