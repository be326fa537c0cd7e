// Package departures is the `departures` function: GET /v1/departures — the day's departures at a property.
package departures

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `departures` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "departures", EntryPoint: "Departures",
	StartHTTP: setup.View("/v1/departures", views.VDepartures, setup.UpReservation)}

func init() { Function.Register() }
