// Package alerts is the `alerts` function: GET /v1/alerts — the property's alerts, mirrored from notification-service, with the operator's acknowledgements.
package alerts

import (
	"context"
	"log/slog"
	"net/http"

	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `alerts` function as deployed.
var Function = boot.Function{Name: "alerts", EntryPoint: "Alerts",
	StartHTTP: setup.Gated(func(ctx context.Context, l boot.Lookuper, log *slog.Logger, g *gate.Gate, res *setup.Resources) (http.Handler, error) {
		in, err := setup.InboxesWith(ctx, l, log, g, res, setup.UpNotification)
		if err != nil {
			return nil, err
		}
		return New(g, in.Alerts), nil
	})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, a *inbox.Alerts) http.Handler {
	return g.Mux(map[string]gate.Handler{"GET /v1/alerts": list(a)})
}

// list is GET /v1/alerts?propertyId=&status=.
func list(a *inbox.Alerts) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		q := c.Request.URL.Query()
		l, note, err := a.Inbox(ctx, c.Actor, q.Get("propertyId"), q.Get("status"))
		c.Note = note
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusOK, Body: l}, nil
	}
}
