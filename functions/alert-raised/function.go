// Package alertraised is the `alert-raised` function: it mirrors melmastoon.notification.alert.raised.v1 into the alert inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package alertraised

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `alert-raised` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "alert-raised", EntryPoint: "AlertRaised", StartEvent: boot.Consumer("alert-raised", New)}

func init() { Function.Register() }

// New returns the event handler.
func New(rdb *redisx.Client) consume.Func {
	return setup.InboxConsumers(rdb).Alerts.Raised()
}
