// Package aidecision is the `ai-decision` function: POST /v1/ai/suggestions/{aimId}/decision — records an operator's decision once (idempotent replay, write-once log, outbox event) and forwards it to ai-orchestrator-service.
package aidecision

import (
	"context"
	"log/slog"
	"net/http"

	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `ai-decision` function as deployed.
var Function = boot.Function{Name: "ai-decision", EntryPoint: "AIDecision",
	StartHTTP: setup.Gated(func(ctx context.Context, l boot.Lookuper, log *slog.Logger, g *gate.Gate, res *setup.Resources) (http.Handler, error) {
		in, err := setup.InboxesWith(ctx, l, log, g, res, setup.UpAI)
		if err != nil {
			return nil, err
		}
		store, err := idempotency.With(ctx, l)
		if err != nil {
			return nil, err
		}
		res.OnClose(func() { _ = store.Close() })
		return New(g, store, in.Suggestions), nil
	})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, store *idempotency.Store, s *inbox.Suggestions) http.Handler {
	return g.Mux(map[string]gate.Handler{"POST /v1/ai/suggestions/{aimId}/decision": idemhttp.Wrap(store, decide(s))})
}

// decide is POST /v1/ai/suggestions/{aimId}/decision, behind the
// idempotency layer.
func decide(s *inbox.Suggestions) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		var req inbox.DecisionRequest
		if err := httpx.DecodeJSON(nil, c.Request, &req); err != nil {
			c.Note = activity.Note{Category: activity.CategoryAIDecision, Action: activity.ActionAISuggestionDecide}
			return gate.Result{}, err
		}
		e, note, err := s.Decide(ctx, c.Actor, c.Request.PathValue("aimId"), req)
		c.Note = note
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusCreated, Body: e}, nil
	}
}
