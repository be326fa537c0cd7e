// Package suggestioncreated is the `suggestion-created` function: it mirrors melmastoon.ai.suggestion.created.v1 into the AI inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package suggestioncreated

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `suggestion-created` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "suggestion-created", EntryPoint: "AISuggestionCreated", StartEvent: boot.Consumer("suggestion-created", New)}

func init() { Function.Register() }

// New returns the event handler.
func New(rdb *redisx.Client) consume.Func {
	return setup.InboxConsumers(rdb).Suggestions.Created()
}
