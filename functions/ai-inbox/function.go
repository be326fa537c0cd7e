// Package aiinbox is the `ai-inbox` function: GET /v1/ai/suggestions — the property's AI suggestions, mirrored from ai-orchestrator-service, each with its provenance and decision.
package aiinbox

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

// Function is the `ai-inbox` function as deployed.
var Function = boot.Function{Name: "ai-inbox", EntryPoint: "AIInbox",
	StartHTTP: setup.Gated(func(ctx context.Context, l boot.Lookuper, log *slog.Logger, g *gate.Gate, res *setup.Resources) (http.Handler, error) {
		in, err := setup.InboxesWith(ctx, l, log, g, res, setup.UpAI)
		if err != nil {
			return nil, err
		}
		return New(g, in.Suggestions), nil
	})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, s *inbox.Suggestions) http.Handler {
	return g.Mux(map[string]gate.Handler{"GET /v1/ai/suggestions": list(s)})
}

// list is GET /v1/ai/suggestions?propertyId=&status=.
func list(s *inbox.Suggestions) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		q := c.Request.URL.Query()
		l, note, err := s.Inbox(ctx, c.Actor, q.Get("propertyId"), q.Get("status"))
		c.Note = note
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusOK, Body: l}, nil
	}
}
