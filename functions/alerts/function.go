// Package alerts is the `alerts` function: GET /v1/alerts — the property's alerts, mirrored from notification-service, with the operator's acknowledgements.
package alerts

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/inbox/inboxhttp"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `alerts` function as deployed.
var Function = boot.Function{Name: "alerts", EntryPoint: "Alerts", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return b.Gate.Mux(map[string]gate.Handler{"GET /v1/alerts": inboxhttp.List(b.Inboxes(setup.UpNotification).Alerts.Inbox)})
})}

func init() { Function.Register() }
