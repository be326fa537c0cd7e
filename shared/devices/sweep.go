package devices

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// SweepResult is one heartbeat-sweeper run's summary.
type SweepResult struct {
	// Lost is how many devices this run marked offline (one
	// device.heartbeat.lost.v1 each).
	Lost int `json:"lost"`
	// More is true when a batch was full: the next run goes on.
	More bool `json:"more"`
}

// lostEvent is device.heartbeat.lost.v1's data.
type lostEvent struct {
	DeviceSyncID    string        `json:"deviceSyncId"`
	DeviceID        string        `json:"deviceId"`
	OperatorID      string        `json:"operatorId"`
	LastHeartbeatAt jsontime.Time `json:"lastHeartbeatAt"`
	LostAt          jsontime.Time `json:"lostAt"`
}

// Sweeper marks devices silent for OfflineAfter as lost, across tenants,
// as the jobs role.
type Sweeper struct {
	DB    *pg.DB // connected as bff_jobs
	Relay *outbox.Relay
	Now   func() time.Time
	// Batch bounds one transaction; MaxBatches one run.
	Batch, MaxBatches int
}

// Run sweeps up to MaxBatches batches. Each batch is one transaction that
// sets lost_at on live devices whose last heartbeat is older than
// OfflineAfter and queues one device.heartbeat.lost.v1 per device in the
// outbox. The UPDATE's own condition (lost_at IS NULL) is what makes the
// event once per online→offline change: of two runs that reach the same
// device, the second finds it already lost (SKIP LOCKED, or the re-checked
// WHERE after the first commits) and emits nothing. A heartbeat clears
// lost_at, so the next silence is announced again. Events are published
// right after each commit; what that misses, outbox-relay sends.
func (s *Sweeper) Run(ctx context.Context) (_ SweepResult, err error) {
	defer derrors.Wrap(&err, "devices.Sweeper.Run")
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	batch, maxBatches := s.Batch, s.MaxBatches
	if batch <= 0 {
		batch = 500
	}
	if maxBatches <= 0 {
		maxBatches = 10
	}
	var res SweepResult
	for range maxBatches {
		at := now().UTC().Truncate(time.Millisecond)
		byTenant := map[string][]events.Envelope{}
		n := 0
		err := s.DB.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			clear(byTenant)
			n = 0
			rows, err := tx.Query(ctx, `
UPDATE bff.device_sync d SET lost_at = $1
  FROM (SELECT tenant_id, device_id FROM bff.device_sync
         WHERE lost_at IS NULL AND deleted_at IS NULL AND last_heartbeat_at <= $2
         ORDER BY last_heartbeat_at
         LIMIT $3
         FOR UPDATE SKIP LOCKED) due
 WHERE d.tenant_id = due.tenant_id AND d.device_id = due.device_id
   AND d.lost_at IS NULL AND d.deleted_at IS NULL AND d.last_heartbeat_at <= $2
RETURNING d.id, d.tenant_id, d.property_id, d.device_id, d.operator_id, d.last_heartbeat_at`,
				at, at.Add(-OfflineAfter), batch)
			if err != nil {
				return err
			}
			type lost struct {
				id, tenant, prop, device, operator string
				last                               time.Time
			}
			got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lost, error) {
				var l lost
				err := r.Scan(&l.id, &l.tenant, &l.prop, &l.device, &l.operator, &l.last)
				return l, err
			})
			if err != nil {
				return err
			}
			n = len(got)
			for _, l := range got {
				ev, err := events.New(events.DeviceHeartbeatLost, l.tenant, l.prop, lostEvent{
					DeviceSyncID: l.id, DeviceID: l.device, OperatorID: l.operator,
					LastHeartbeatAt: jsontime.Of(l.last), LostAt: jsontime.Of(at),
				})
				if err != nil {
					return err
				}
				byTenant[l.tenant] = append(byTenant[l.tenant], ev)
			}
			for tenant, evs := range byTenant {
				// outbox.Add inserts for the transaction's tenant only.
				if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('app.tenant_id', $1, true)`, tenant); err != nil {
					return err
				}
				if err := outbox.Add(ctx, tx, evs...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Lost += n
		for tenant, evs := range byTenant {
			s.Relay.Send(ctx, tenant, evs...)
		}
		if n < batch {
			res.More = false
			return res, nil
		}
		res.More = true
	}
	return res, nil
}
