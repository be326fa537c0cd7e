// Package aidecision is the `ai-decision` function: POST /v1/ai/suggestions/{aimId}/decision — records an operator's decision once (idempotent replay, write-once log, outbox event) and forwards it to ai-orchestrator-service.
package aidecision

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `ai-decision` function as deployed.
var Function = boot.Function{Name: "ai-decision", EntryPoint: "AIDecision", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return New(b.Gate, idemhttp.Store(b), b.Inboxes(setup.UpAI).Suggestions)
})}

func init() { Function.Register() }

// New returns the function's handler.
func New(g *gate.Gate, store *idempotency.Store, s *inbox.Suggestions) http.Handler {
	return g.Mux(map[string]gate.Handler{"POST /v1/ai/suggestions/{aimId}/decision": idemhttp.Wrap(store, gate.WithBody(http.StatusCreated,
		activity.Note{Category: activity.CategoryAIDecision, Action: activity.ActionAISuggestionDecide},
		func(ctx context.Context, c *gate.Call, req inbox.DecisionRequest) (inbox.SuggestionEntry, activity.Note, error) {
			return s.Decide(ctx, c.Actor, c.Request.PathValue("aimId"), req)
		}))})
}
