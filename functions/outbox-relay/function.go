// Package outboxrelay is the `outbox-relay` scheduled function: Cloud
// Scheduler POSTs to it every minute (OIDC, invoker account only) and it
// publishes, across tenants and as the jobs role, the outbox events that
// in-request publishing missed (shared/outbox.Drain).
package outboxrelay

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// EntryPoint is the name the function is deployed and registered under.
const EntryPoint = "OutboxRelay"

func init() {
	functions.HTTP(EntryPoint, boot.HTTP(EntryPoint, func(ctx context.Context, log *slog.Logger) (http.Handler, error) {
		j, err := setup.JobsFromEnv(ctx, log)
		if err != nil {
			return nil, err
		}
		return New(j.DB, j.Publisher, log, outbox.DrainOptions{}), nil
	}).ServeHTTP)
}

// New returns the job's handler: one Drain per request. It answers 200 with
// the counts, or a problem (5xx) when the run could not do its work — the
// database is unreachable or Pub/Sub took none of the events — so that Cloud
// Scheduler records the run as failed and retries it.
func New(jobs *pg.DB, pub events.Publisher, log *slog.Logger, o outbox.DrainOptions) http.Handler {
	if o.Log == nil {
		o.Log = log
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpx.Methods(w, r, http.MethodPost) {
			return
		}
		st, err := outbox.Drain(r.Context(), jobs, pub, o)
		if err != nil {
			httpx.WriteError(w, r, apperr.Unavailable(err, "outbox relay"))
			return
		}
		httpx.WriteJSON(w, r, http.StatusOK, st)
	})
}
