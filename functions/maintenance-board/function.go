// Package maintenanceboard is the `maintenance-board` function: GET /v1/maintenance/board — the property's work orders.
package maintenanceboard

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `maintenance-board` function as deployed: composed from
// maintenance-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "maintenance-board", EntryPoint: "MaintenanceBoard", StartHTTP: setup.View("maintenance-board", "/v1/maintenance/board", setup.UpMaintenance)}

func init() { Function.Register() }
