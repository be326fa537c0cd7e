// Package departures is the `departures` function: GET /v1/departures — the day's departures at a property.
package departures

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `departures` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "departures", EntryPoint: "Departures", StartHTTP: setup.View("departures", "/v1/departures", setup.UpReservation)}

func init() { Function.Register() }
