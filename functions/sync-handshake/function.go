// Package synchandshake is the `sync-handshake` function: POST
// /v1/sync/handshake — forwards the calling device's handshake to
// sync-service and records the result: the cursor it answers (never moving
// lastCursor back), sync.handshake_completed.v1 and a `sync_handshake`
// activity row. A handshake sync-service did not answer (a timeout) is a
// 503 with a failure row, never a success.
package synchandshake

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

// Function is the `sync-handshake` function as deployed.
var Function = boot.Function{Name: "sync-handshake", EntryPoint: "SyncHandshake", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	svc, sync := b.Devices(), b.SyncClient()
	return idemhttp.Mux(b, map[string]gate.Handler{
		"POST /v1/sync/handshake": gate.WithBody(http.StatusOK,
			activity.Note{Category: activity.CategorySyncHandshake, Action: activity.ActionSyncHandshake},
			func(ctx context.Context, c *gate.Call, req devices.HandshakeRequest) (devices.SyncResult, activity.Note, error) {
				res, evs, note, err := svc.Handshake(ctx, c.Actor, req, sync)
				c.PublishAll(ctx, evs)
				return res, note, err
			}),
	})
})}

func init() { Function.Register() }
