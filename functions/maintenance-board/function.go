// Package maintenanceboard is the `maintenance-board` function: GET /v1/maintenance/board — the property's work orders.
package maintenanceboard

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `maintenance-board` function as deployed: composed from
// maintenance-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "maintenance-board", EntryPoint: "MaintenanceBoard",
	StartHTTP: setup.View("/v1/maintenance/board", views.VMaintenanceBoard, setup.UpMaintenance)}

func init() { Function.Register() }
