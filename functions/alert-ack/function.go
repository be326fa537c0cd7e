// Package alertack is the `alert-ack` function: POST /v1/alerts/{aliId}/ack — records an operator's acknowledgement of an alert once (idempotent replay, write-once log, outbox event).
package alertack

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `alert-ack` function as deployed.
var Function = boot.Function{Name: "alert-ack", EntryPoint: "AlertAck", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return New(b.Gate, idemhttp.Store(b), b.Inboxes(setup.UpNotification).Alerts)
})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, store *idempotency.Store, a *inbox.Alerts) http.Handler {
	return g.Mux(map[string]gate.Handler{"POST /v1/alerts/{aliId}/ack": idemhttp.Wrap(store, ack(a))})
}

// ack is POST /v1/alerts/{aliId}/ack, behind the idempotency layer; the
// body is empty or {}.
func ack(a *inbox.Alerts) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		if c.Request.ContentLength != 0 {
			var empty struct{}
			if err := httpx.DecodeJSON(nil, c.Request, &empty); err != nil {
				c.Note = activity.Note{Category: activity.CategoryAlertAck, Action: activity.ActionAlertAcknowledge}
				return gate.Result{}, err
			}
		}
		e, note, err := a.Ack(ctx, c.Actor, c.Request.PathValue("aliId"))
		c.Note = note
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusCreated, Body: e}, nil
	}
}
