// Package devices is the `devices` function: GET /v1/devices — the
// property's desktops with their DeviceSyncStatus, status derived when
// read, paged like every list.
package devices

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `devices` function as deployed.
var Function = boot.Function{Name: "devices", EntryPoint: "Devices", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	svc := b.Devices()
	return b.Gate.Mux(map[string]gate.Handler{
		"GET /v1/devices": gate.Answer(http.StatusOK, func(ctx context.Context, c *gate.Call) (listcursor.Page[devices.Status], activity.Note, error) {
			q := c.Request.URL.Query()
			return svc.List(ctx, c.Actor, devices.Query{PropertyID: q.Get("propertyId"), Limit: q.Get("limit"), Cursor: q.Get("cursor")})
		}),
	})
})}

func init() { Function.Register() }
