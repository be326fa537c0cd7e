// Package suggestioninvalidated is the `suggestion-invalidated` function: it drops the suggestion of melmastoon.ai.suggestion.invalidated.v1 from the AI inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package suggestioninvalidated

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `suggestion-invalidated` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "suggestion-invalidated", EntryPoint: "AISuggestionInvalidated", StartEvent: boot.Consumer("suggestion-invalidated", New)}

func init() { Function.Register() }

// New returns the event handler.
func New(rdb *redisx.Client) consume.Func {
	return setup.InboxConsumers(rdb).Suggestions.Invalidated()
}
