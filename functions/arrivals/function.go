// Package arrivals is the `arrivals` function: GET /v1/arrivals — the day's arrivals at a property.
package arrivals

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `arrivals` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "arrivals", EntryPoint: "Arrivals", StartHTTP: setup.View("arrivals", "/v1/arrivals", setup.UpReservation)}

func init() { Function.Register() }
