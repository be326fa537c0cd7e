// Package alertresolved is the `alert-resolved` function: it marks the alert of melmastoon.notification.alert.resolved.v1 resolved in the alert inbox and tells the property's desktops.
// Idempotent by event id (consume) and order-independent by construction
// (shared/inbox).
package alertresolved

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
)

// Function is the `alert-resolved` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "alert-resolved", EntryPoint: "AlertResolved", StartEvent: boot.Consumer("alert-resolved", inbox.OnAlertResolved)}

func init() { Function.Register() }
