// Package dashboard is the `dashboard` function: GET /v1/dashboard — the role-permissioned DashboardSnapshot of a property.
package dashboard

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
	"github.com/melmastoon/bff-backoffice/shared/views/viewhttp"
)

// EntryPoint is the name the function is deployed and registered under.
const EntryPoint = "Dashboard"

// Upstreams are the services this function reads.
var Upstreams = setup.AllUpstreams

func init() {
	functions.HTTP(EntryPoint, boot.HTTP(EntryPoint, func(ctx context.Context, log *slog.Logger) (http.Handler, error) {
		g, res, err := setup.GateFromEnv(ctx, log)
		if err != nil {
			return nil, err
		}
		svc, err := setup.ViewsFromEnv(ctx, log, res, Upstreams...)
		if err != nil {
			return nil, err
		}
		return New(g, svc), nil
	}).ServeHTTP)
}

// New returns the function's handler.
func New(g *gate.Gate, svc *views.Service) http.Handler {
	return g.Mux(map[string]gate.Handler{"GET /v1/dashboard": viewhttp.Dashboard(svc)})
}
