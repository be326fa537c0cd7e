// Package eventsfn is the `events` function: GET /v1/events — the
// Server-Sent Events stream of the caller's device (forceLogout,
// aiInboxChanged, alertInboxChanged, viewInvalidated); see shared/livestream
// for the wire, resume and resync.
package eventsfn

import (
	"context"
	"log/slog"
	"net/http"

	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/livestream"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `events` function as deployed.
var Function = boot.Function{Name: "events", EntryPoint: "Events",
	StartHTTP: setup.Gated(func(ctx context.Context, _ boot.Lookuper, _ *slog.Logger, g *gate.Gate, res *setup.Resources) (http.Handler, error) {
		// One subscription for the instance's life, shared by every stream.
		live, err := livestream.New(ctx, res.Redis, livestream.Options{Sessions: g.Sessions})
		if err != nil {
			return nil, err
		}
		// The streams end first on a shutdown, and before the clients they
		// use on close.
		res.OnDrain(live.Close)
		res.OnClose(live.Close)
		return New(g, live), nil
	})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, live *livestream.Server) http.Handler {
	return g.Mux(map[string]gate.Handler{"GET /v1/events": connect(live)})
}

// connect is GET /v1/events: the resume position comes from Last-Event-ID,
// or the lastEventId query parameter for clients that cannot set headers.
// The gate commits the connection's activity row before the stream starts.
func connect(live *livestream.Server) gate.Handler {
	return func(_ context.Context, c *gate.Call) (gate.Result, error) {
		last, field := c.Request.Header.Get("Last-Event-ID"), "Last-Event-ID"
		if last == "" {
			last, field = c.Request.URL.Query().Get("lastEventId"), "lastEventId"
		}
		stream, note, err := live.Connect(c.Actor, field, last)
		c.Note = note
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Stream: stream}, nil
	}
}
