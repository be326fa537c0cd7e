// Package suggestioncreated is the `suggestion-created` function: it mirrors melmastoon.ai.suggestion.created.v1 into the AI inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package suggestioncreated

import (
	"context"
	"log/slog"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// EntryPoint is the name the function is deployed and registered under.
const EntryPoint = "AISuggestionCreated"

// Name keys the consumer's processed-event markers.
const Name = "suggestion-created"

func init() {
	get := boot.Lazy(EntryPoint, func(ctx context.Context, _ *slog.Logger) (func(context.Context, event.Event) error, error) {
		rdb, err := setup.RedisFromEnv(ctx)
		if err != nil {
			return nil, err
		}
		return consume.Handler(Name, rdb, New(rdb)), nil
	})
	functions.CloudEvent(EntryPoint, func(ctx context.Context, e event.Event) error {
		h, err := get()
		if err != nil {
			return err
		}
		return h(ctx, e)
	})
}

// New returns the event handler.
func New(rdb *redisx.Client) consume.Func {
	return setup.InboxConsumers(rdb).Suggestions.Created()
}
