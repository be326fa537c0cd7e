// Package alertraised is the `alert-raised` function: it mirrors melmastoon.notification.alert.raised.v1 into the alert inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package alertraised

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
const EntryPoint = "AlertRaised"

// Name keys the consumer's processed-event markers.
const Name = "alert-raised"

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
	return setup.InboxConsumers(rdb).Alerts.Raised()
}
