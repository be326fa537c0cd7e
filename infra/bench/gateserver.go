package bench

import (
	"context"
	"fmt"

	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/shared/activity"
)

// gateServer is a dev server on the scenario's stack whose activity
// recorder can be switched between runs (the real ledger, a no-op), so
// variants share every other cost.
type gateServer struct {
	*devserver.Server
	ledger   *activity.Ledger // what setup.Gate built
	rec      *switchRecorder  // what the handlers call
	postgres pgServer         // the durability settings the figures rest on
}

// startGateServer starts it, adding to rep the warning of a Postgres that
// does not flush commits. The caller closes it.
func startGateServer(ctx context.Context, env Env, rep *Report) (*gateServer, error) {
	pgs, err := serverOf(ctx, env.AdminURL)
	if err != nil {
		return nil, err
	}
	if wn := pgs.warning(); wn != "" {
		rep.Warnings = append(rep.Warnings, wn)
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: env.RepoRoot, DatabaseURL: env.AppURL, RedisAddr: env.RedisAddr, RedisPrefix: env.RedisPrefix,
		ProjectID: env.ProjectID, PushSubscriptions: true, Log: env.Log,
	})
	if err != nil {
		return nil, err
	}
	ledger, ok := srv.Gate.Ledger.(*activity.Ledger)
	if !ok {
		srv.Close()
		return nil, fmt.Errorf("the dev server's recorder is %T, not *activity.Ledger", srv.Gate.Ledger)
	}
	// Installed before the first request, and switched atomically between
	// runs: the handlers read it on every request.
	rec := &switchRecorder{}
	rec.use(ledger)
	srv.Gate.Ledger = rec
	return &gateServer{Server: srv, ledger: ledger, rec: rec, postgres: pgs}, nil
}
