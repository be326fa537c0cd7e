// Package heartbeatsweeper is the `heartbeat-sweeper` scheduled function:
// Cloud Scheduler POSTs to it every minute (UTC; OIDC, invoker account
// only) and one run, across tenants as the jobs role, marks the devices
// silent for 5 minutes offline and emits exactly one
// device.heartbeat.lost.v1 per online→offline change (shared/devices
// Sweeper: conditional update and outbox in one transaction, so
// overlapping runs never announce a device twice).
package heartbeatsweeper

import (
	"context"
	"log/slog"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `heartbeat-sweeper` function as deployed.
var Function = boot.Function{Name: "heartbeat-sweeper", EntryPoint: "HeartbeatSweeper", StartHTTP: setup.Job("heartbeat sweeper",
	func(log *slog.Logger, j *setup.Jobs) setup.Run {
		return run(j.DB, j.Publisher, log)
	})}

func init() { Function.Register() }

// Bounds of one run: 20 transactions of 500 devices; a run that fills
// them says so (more) and the next minute's run goes on.
const (
	batch      = 500
	maxBatches = 20
)

// run is one sweep per POST, answered with its devices.SweepResult, or 503
// when the database failed (nothing of a failed transaction was marked,
// so the next run takes it again).
func run(jobs *pg.DB, pub events.Publisher, log *slog.Logger) setup.Run {
	sw := &devices.Sweeper{DB: jobs, Relay: outbox.NewRelay(jobs, pub, log, outbox.Options{}), Batch: batch, MaxBatches: maxBatches}
	return func(ctx context.Context) (any, error) { return sw.Run(ctx) }
}
