// Package devicedeleted is the `device-deleted` function: it consumes
// melmastoon.iam.device.deleted.v1, leaves the device's tombstone (so a
// late heartbeat cannot bring it back) and ends its sessions as a
// revocation of every operator seen on it: cutoffs that kill their tokens
// on that device, forceLogout on its stream, session.closed.v1. Idempotent
// by event id (consume), and harmless when replayed: the tombstone stays,
// cutoffs only move forward, a revoked session is not revoked again.
package devicedeleted

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/revoked"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `device-deleted` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "device-deleted", EntryPoint: "DeviceDeleted",
	StartEvent: setup.SessionConsumer("device-deleted", func(ctx context.Context, l boot.Lookuper, d *setup.Consumer) (consume.Func, func(), error) {
		var cfg pg.Config
		if err := config.LoadFrom(ctx, l, &cfg); err != nil {
			return nil, nil, err
		}
		db, err := pg.Open(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		svc := devices.New(devices.Deps{DB: db, Redis: d.Redis})
		return New(d.Redis, svc, d.Sessions, d.Publisher), db.Close, nil
	})}

func init() { Function.Register() }

// data is the event's payload.
type data struct {
	DeviceID string `json:"deviceId"`
}

// New returns the event handler.
func New(rdb *redisx.Client, svc *devices.Service, sessions *session.Manager, pub events.Publisher) consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		var d data
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("%w: data: %v", consume.ErrPoison, err)
		}
		if !ids.Valid(ids.Device, d.DeviceID) {
			return fmt.Errorf("%w: deviceId malformed", consume.ErrPoison)
		}
		// The tombstone first: from its commit on, no heartbeat lands.
		operators, err := svc.Delete(ctx, ev.TenantID, d.DeviceID, time.Now())
		if err != nil {
			return fmt.Errorf("device-deleted: %w", err)
		}
		for _, op := range operators {
			ended, err := sessions.Revoke(ctx, session.Revocation{
				TenantID: ev.TenantID, OperatorID: op, DeviceID: d.DeviceID, At: ev.OccurredAt.Time,
			})
			if err != nil {
				return fmt.Errorf("device-deleted: %w", err)
			}
			if err := revoked.Announce(ctx, rdb, pub, ended, "device_deleted"); err != nil {
				return err
			}
		}
		return nil
	}
}
