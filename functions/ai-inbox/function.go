// Package aiinbox is the `ai-inbox` function: GET /v1/ai/suggestions — the property's AI suggestions, mirrored from ai-orchestrator-service, each with its provenance and decision.
package aiinbox

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/inbox/inboxhttp"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `ai-inbox` function as deployed.
var Function = boot.Function{Name: "ai-inbox", EntryPoint: "AIInbox", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return b.Gate.Mux(map[string]gate.Handler{"GET /v1/ai/suggestions": inboxhttp.List(b.Inboxes(setup.UpAI).Suggestions.Inbox)})
})}

func init() { Function.Register() }
