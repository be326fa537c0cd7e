// Package decisionforward is the `decision-forward` scheduled function:
// Cloud Scheduler POSTs to it every five minutes and it hands to
// ai-orchestrator-service, across tenants and as the jobs role, the AI
// decisions whose forward right after they were recorded failed
// (shared/inbox.RetryForwards).
package decisionforward

import (
	"context"
	"log/slog"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

// Function is the `decision-forward` function as deployed.
var Function = boot.Function{Name: "decision-forward", EntryPoint: "DecisionForward", StartHTTP: setup.ClientJob("decision forward",
	func(_ context.Context, cfg aiorchestrator.Config) (*aiorchestrator.Client, error) {
		return aiorchestrator.NewClient(cfg)
	},
	func(_ aiorchestrator.Config, ai *aiorchestrator.Client, log *slog.Logger, j *setup.Jobs) setup.Run {
		return run(j.DB, ai, inbox.ForwardOptions{Log: log})
	})}

func init() { Function.Register() }

// run is one run per POST. Decisions the upstream could not take this time
// are counted as failed and wait for the next run; a database failure
// fails the run (503).
func run(jobs *pg.DB, ai *aiorchestrator.Client, o inbox.ForwardOptions) setup.Run {
	return func(ctx context.Context) (any, error) { return inbox.RetryForwards(ctx, jobs, ai, o) }
}
