// Package viewhttp is the HTTP edge of the dashboard and the workbench
// views, shared by the seven functions that serve them: it reads the
// request's property, calls shared/views with the gate's actor, and hands
// the rendered JSON and the activity note back to the gate.
package viewhttp

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Dashboard is the gate handler of GET /v1/dashboard.
func Dashboard(s *views.Service) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		b, note, err := s.Dashboard(ctx, c.Actor, c.Request.URL.Query().Get("propertyId"))
		return answer(c, b, note, err)
	}
}

// Ahead is the gate's Prefetcher of the dashboard (kind "dashboard") or a
// workbench view kind: a cached answer then costs no Redis round trip of
// its own (views.Service.Ahead).
func Ahead(s *views.Service, kind string) gate.Prefetcher {
	return func(ctx context.Context, guess actor.Actor, r *http.Request) (context.Context, redisx.Rider) {
		return s.Ahead(ctx, guess, kind, r.URL.Query().Get("propertyId"))
	}
}

// View is the gate handler of workbench view kind (GET /v1/<kind>).
func View(s *views.Service, kind string) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		b, note, err := s.View(ctx, c.Actor, kind, c.Request.URL.Query().Get("propertyId"))
		return answer(c, b, note, err)
	}
}

// answer sends the already-rendered body as is: re-encoding would cost
// what the per-snapshot rendering saves.
func answer(c *gate.Call, body []byte, note activity.Note, err error) (gate.Result, error) {
	c.Note = note
	if err != nil {
		return gate.Result{}, err
	}
	return gate.Result{Status: http.StatusOK, Raw: body}, nil
}
