// Package deviceheartbeat is the `device-heartbeat` function: POST
// /v1/devices/heartbeat — the desktop reports its state (PATCH semantics)
// and its offline queue's pending summary, and gets its DeviceSyncStatus
// back. Not idempotency-keyed: it is a state report, safe to repeat, and
// an older report never overwrites a newer one.
package deviceheartbeat

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `device-heartbeat` function as deployed.
var Function = boot.Function{Name: "device-heartbeat", EntryPoint: "DeviceHeartbeat", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	svc := b.Devices()
	return b.Gate.Mux(map[string]gate.Handler{
		"POST /v1/devices/heartbeat": gate.WithBody(http.StatusOK,
			activity.Note{Category: activity.CategoryOther, Action: activity.ActionDeviceHeartbeat},
			func(ctx context.Context, c *gate.Call, hb devices.Heartbeat) (devices.Status, activity.Note, error) {
				st, ev, note, err := svc.Heartbeat(ctx, c.Actor, hb)
				if err == nil && ev.Subject != "" {
					c.Publish(ctx, ev, nil)
				}
				return st, note, err
			}),
	})
})}

func init() { Function.Register() }
