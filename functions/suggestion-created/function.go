// Package suggestioncreated is the `suggestion-created` function: it mirrors melmastoon.ai.suggestion.created.v1 into the AI inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package suggestioncreated

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
)

// Function is the `suggestion-created` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "suggestion-created", EntryPoint: "AISuggestionCreated", StartEvent: boot.Consumer("suggestion-created", inbox.OnSuggestionCreated)}

func init() { Function.Register() }
