// Package decisionforward is the `decision-forward` scheduled function:
// Cloud Scheduler POSTs to it every five minutes and it hands to
// ai-orchestrator-service, across tenants and as the jobs role, the AI
// decisions whose forward right after they were recorded failed
// (shared/inbox.RetryForwards).
package decisionforward

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

// EntryPoint is the name the function is deployed and registered under.
const EntryPoint = "DecisionForward"

func init() {
	functions.HTTP(EntryPoint, boot.HTTP(EntryPoint, func(ctx context.Context, log *slog.Logger) (http.Handler, error) {
		j, err := setup.JobsFromEnv(ctx, log)
		if err != nil {
			return nil, err
		}
		ai, err := setup.AIClientFromEnv(ctx)
		if err != nil {
			return nil, err
		}
		return New(j.DB, ai, inbox.ForwardOptions{Log: log}), nil
	}).ServeHTTP)
}

// New returns the job's handler: one run per POST, answered 200 with the
// counts, or 503 when the database failed, so that Cloud Scheduler records
// the run as failed and retries it. Decisions the upstream could not take
// this time are counted as failed and wait for the next run.
func New(jobs *pg.DB, ai *aiorchestrator.Client, o inbox.ForwardOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpx.Methods(w, r, http.MethodPost) {
			return
		}
		st, err := inbox.RetryForwards(r.Context(), jobs, ai, o)
		if err != nil {
			httpx.WriteError(w, r, apperr.Unavailable(err, "decision forward"))
			return
		}
		httpx.WriteJSON(w, r, http.StatusOK, st)
	})
}
