// Package synccursor is the `sync-cursor` function: POST /v1/sync/cursor
// — asks sync-service (the authority) for the calling device's cursor and
// stores it as the device's lastCursor, which never moves backwards
// (cursorVersion compare-and-set); sync.cursor_advanced.v1 when it moved.
package synccursor

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `sync-cursor` function as deployed.
var Function = boot.Function{Name: "sync-cursor", EntryPoint: "SyncCursor", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	svc, sync := b.Devices(), b.SyncClient()
	return idemhttp.Mux(b, map[string]gate.Handler{
		"POST /v1/sync/cursor": gate.WithOptionalBody(http.StatusOK,
			activity.Note{Category: activity.CategorySyncHandshake, Action: activity.ActionSyncCursorRefreshed},
			func(ctx context.Context, c *gate.Call, _ struct{}) (devices.SyncResult, activity.Note, error) {
				res, evs, note, err := svc.RefreshCursor(ctx, c.Actor, sync)
				c.PublishAll(ctx, evs)
				return res, note, err
			}),
	})
})}

func init() { Function.Register() }
