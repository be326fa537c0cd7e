// Package housekeepingboard is the `housekeeping-board` function: GET /v1/housekeeping/board — rooms and their housekeeping status.
package housekeepingboard

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `housekeeping-board` function as deployed: composed from
// housekeeping-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "housekeeping-board", EntryPoint: "HousekeepingBoard",
	StartHTTP: setup.View("/v1/housekeeping/board", views.VHousekeepingBoard, setup.UpHousekeeping)}

func init() { Function.Register() }
