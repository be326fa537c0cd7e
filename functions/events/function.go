// Package eventsfn is the `events` function: GET /v1/events — the
// Server-Sent Events stream of the caller's device (forceLogout,
// aiInboxChanged, alertInboxChanged, viewInvalidated); see shared/livestream
// for the wire, resume and resync.
package eventsfn

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/livestream"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `events` function as deployed.
var Function = boot.Function{Name: "events", EntryPoint: "Events", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	// One subscription for the instance's life, shared by every stream.
	live, err := livestream.New(b.Ctx, b.Res.Redis, livestream.Options{Sessions: b.Gate.Sessions})
	if err != nil {
		b.Fail(err)
		return nil
	}
	// The streams end first on a shutdown, and before the clients they
	// use on close.
	b.Res.OnDrain(live.Close)
	b.Res.OnClose(live.Close)
	return b.Gate.Mux(map[string]gate.Handler{"GET /v1/events": connect(live)})
})}

func init() { Function.Register() }

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
