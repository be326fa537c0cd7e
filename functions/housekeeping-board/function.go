// Package housekeepingboard is the `housekeeping-board` function: GET /v1/housekeeping/board — rooms and their housekeeping status.
package housekeepingboard

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `housekeeping-board` function as deployed: composed from
// housekeeping-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "housekeeping-board", EntryPoint: "HousekeepingBoard", StartHTTP: setup.View("housekeeping-board", "/v1/housekeeping/board", setup.UpHousekeeping)}

func init() { Function.Register() }
