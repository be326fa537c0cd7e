// Package lockreconcile is the `lock-reconcile` scheduled function: Cloud
// Scheduler POSTs to it every minute (UTC; OIDC, invoker account only) and,
// across tenants as the jobs role, it settles the door-key audit rows left
// 'unknown' because lock-service's answer was lost, by asking lock-service
// what became of each request (shared/lockaction.Reconcile).
package lockreconcile

import (
	"context"
	"log/slog"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/lockaction"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/upstream/lock"
)

// Config is the job's own configuration.
type Config struct {
	Lock lock.Config
	// Grace must outlast lock-action's LOCK_SERVICE_TIMEOUT: see
	// lockaction.ReconcileOptions.
	Grace time.Duration `env:"LOCK_RECONCILE_GRACE, default=2m"`
}

// Function is the `lock-reconcile` function as deployed.
var Function = boot.Function{Name: "lock-reconcile", EntryPoint: "LockReconcile", StartHTTP: setup.ClientJob("lock-reconcile",
	func(_ context.Context, cfg Config) (*lock.Client, error) { return lock.NewClient(cfg.Lock) },
	func(cfg Config, lk *lock.Client, _ *slog.Logger, j *setup.Jobs) setup.Run {
		return run(j.DB, lk, lockaction.ReconcileOptions{Grace: cfg.Grace})
	})}

func init() { Function.Register() }

func run(jobs *pg.DB, lk *lock.Client, o lockaction.ReconcileOptions) setup.Run {
	return func(ctx context.Context) (any, error) { return lockaction.Reconcile(ctx, jobs, lk, o) }
}
