// Package bootstrapchanged is the `bootstrap-changed` function: it bumps the tenant's cacheKeyVersion on melmastoon.tenant.bootstrap.version_changed.v1.
// Idempotent by event id (consume) and by construction.
package bootstrapchanged

import (
	"context"
	"log/slog"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// EntryPoint is the name the function is deployed and registered under.
const EntryPoint = "BootstrapChanged"

// Name keys the consumer's processed-event markers.
const Name = "bootstrap-changed"

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
	return views.VersionChanged(compose.New(rdb, compose.Options{}))
}
