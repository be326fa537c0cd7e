// Package maintenancechanged is the `maintenance-changed` function: it drops a property's cached views on melmastoon.maintenance.changed.v1.
// Idempotent by event id (consume) and by construction.
package maintenancechanged

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `maintenance-changed` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "maintenance-changed", EntryPoint: "MaintenanceChanged", StartEvent: boot.Consumer("maintenance-changed", views.OnPropertyChanged)}

func init() { Function.Register() }
