// Package bootstrapchanged is the `bootstrap-changed` function: it bumps the tenant's cacheKeyVersion on melmastoon.tenant.bootstrap.version_changed.v1.
// Idempotent by event id (consume) and by construction.
package bootstrapchanged

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `bootstrap-changed` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "bootstrap-changed", EntryPoint: "BootstrapChanged", StartEvent: boot.Consumer("bootstrap-changed", New)}

func init() { Function.Register() }

// New returns the event handler.
func New(rdb *redisx.Client) consume.Func {
	return views.VersionChanged(compose.New(rdb, compose.Options{}))
}
