// Package bootstrapchanged is the `bootstrap-changed` function: it bumps the tenant's cacheKeyVersion on melmastoon.tenant.bootstrap.version_changed.v1.
// Idempotent by event id (consume) and by construction.
package bootstrapchanged

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `bootstrap-changed` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "bootstrap-changed", EntryPoint: "BootstrapChanged", StartEvent: boot.Consumer("bootstrap-changed", views.OnVersionChanged)}

func init() { Function.Register() }
