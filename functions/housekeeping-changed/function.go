// Package housekeepingchanged is the `housekeeping-changed` function: it drops a property's cached views on melmastoon.housekeeping.changed.v1.
// Idempotent by event id (consume) and by construction.
package housekeepingchanged

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `housekeeping-changed` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "housekeeping-changed", EntryPoint: "HousekeepingChanged", StartEvent: boot.Consumer("housekeeping-changed", views.OnPropertyChanged)}

func init() { Function.Register() }
