// Package suggestioninvalidated is the `suggestion-invalidated` function: it drops the suggestion of melmastoon.ai.suggestion.invalidated.v1 from the AI inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package suggestioninvalidated

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
)

// Function is the `suggestion-invalidated` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "suggestion-invalidated", EntryPoint: "AISuggestionInvalidated", StartEvent: boot.Consumer("suggestion-invalidated", inbox.OnSuggestionInvalidated)}

func init() { Function.Register() }
