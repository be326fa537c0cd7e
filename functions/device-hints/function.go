// Package devicehints is the `device-hints` function: GET
// /v1/devices/hints — "N actions pending on your other device": the
// caller's own other devices' latest pending summaries, never another
// operator's.
package devicehints

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `device-hints` function as deployed.
var Function = boot.Function{Name: "device-hints", EntryPoint: "DeviceHints", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	svc := b.Devices()
	return b.Gate.Mux(map[string]gate.Handler{
		"GET /v1/devices/hints": gate.Answer(http.StatusOK, func(ctx context.Context, c *gate.Call) (devices.Hints, activity.Note, error) {
			return svc.Hints(ctx, c.Actor)
		}),
	})
})}

func init() { Function.Register() }
