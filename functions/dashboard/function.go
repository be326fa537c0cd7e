// Package dashboard is the `dashboard` function: GET /v1/dashboard — the role-permissioned DashboardSnapshot of a property.
package dashboard

import (
	"context"
	"log/slog"
	"net/http"

	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
	"github.com/melmastoon/bff-backoffice/shared/views/viewhttp"
)

// Function is the `dashboard` function as deployed: it composes from every
// upstream a widget may read.
var Function = boot.Function{Name: "dashboard", EntryPoint: "Dashboard",
	StartHTTP: setup.Gated(func(ctx context.Context, l boot.Lookuper, log *slog.Logger, g *gate.Gate, res *setup.Resources) (http.Handler, error) {
		svc, err := setup.Views(ctx, l, log, res, setup.AllUpstreams...)
		if err != nil {
			return nil, err
		}
		return New(g, svc), nil
	})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, svc *views.Service) http.Handler {
	return g.Mux(map[string]gate.Handler{"GET /v1/dashboard": viewhttp.Dashboard(svc)})
}
