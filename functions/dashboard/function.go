// Package dashboard is the `dashboard` function: GET /v1/dashboard — the role-permissioned DashboardSnapshot of a property.
package dashboard

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
	"github.com/melmastoon/bff-backoffice/shared/views/viewhttp"
)

// Function is the `dashboard` function as deployed: it composes from every
// upstream a widget may read.
var Function = boot.Function{Name: "dashboard", EntryPoint: "Dashboard", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return New(b.Gate, b.Views(setup.AllUpstreams...))
})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, svc *views.Service) http.Handler {
	return g.Routes(map[string]gate.Route{"GET /v1/dashboard": {Handler: viewhttp.Dashboard(svc), Ahead: viewhttp.Ahead(svc, "dashboard")}})
}
