// Package alertack is the `alert-ack` function: POST /v1/alerts/{aliId}/ack — records an operator's acknowledgement of an alert once (idempotent replay, write-once log, outbox event).
package alertack

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `alert-ack` function as deployed.
var Function = boot.Function{Name: "alert-ack", EntryPoint: "AlertAck", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	a := b.Inboxes(setup.UpNotification).Alerts
	// The body is empty or {}.
	return idemhttp.Mux(b, map[string]gate.Handler{"POST /v1/alerts/{aliId}/ack": gate.WithOptionalBody(http.StatusCreated,
		activity.Note{Category: activity.CategoryAlertAck, Action: activity.ActionAlertAcknowledge},
		func(ctx context.Context, c *gate.Call, _ struct{}) (inbox.AlertEntry, activity.Note, error) {
			return a.Ack(ctx, c.Actor, c.Request.PathValue("aliId"))
		})})
})}

func init() { Function.Register() }
