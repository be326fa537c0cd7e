// Package outboxrelay is the `outbox-relay` scheduled function: Cloud
// Scheduler POSTs to it every minute (OIDC, invoker account only) and it
// publishes, across tenants and as the jobs role, the outbox events that
// in-request publishing missed (shared/outbox.Drain).
package outboxrelay

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `outbox-relay` function as deployed.
var Function = boot.Function{Name: "outbox-relay", EntryPoint: "OutboxRelay", StartHTTP: setup.Job("outbox relay",
	func(log *slog.Logger, j *setup.Jobs) setup.Run {
		return run(j.DB, j.Publisher, outbox.DrainOptions{Log: log})
	})}

func init() { Function.Register() }

// New returns the job's handler: one Drain per POST. A run fails (503) when
// the database is unreachable or Pub/Sub took none of the events.
func New(jobs *pg.DB, pub events.Publisher, log *slog.Logger, o outbox.DrainOptions) http.Handler {
	if o.Log == nil {
		o.Log = log
	}
	return setup.JobHandler("outbox relay", run(jobs, pub, o))
}

func run(jobs *pg.DB, pub events.Publisher, o outbox.DrainOptions) setup.Run {
	return func(ctx context.Context) (any, error) { return outbox.Drain(ctx, jobs, pub, o) }
}
