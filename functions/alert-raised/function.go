// Package alertraised is the `alert-raised` function: it mirrors melmastoon.notification.alert.raised.v1 into the alert inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package alertraised

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
)

// Function is the `alert-raised` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "alert-raised", EntryPoint: "AlertRaised", StartEvent: boot.Consumer("alert-raised", inbox.OnAlertRaised)}

func init() { Function.Register() }
