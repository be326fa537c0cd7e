// Package today is the `today` function: GET /v1/today — the day's arrivals and departures at a property.
package today

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `today` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "today", EntryPoint: "Today",
	StartHTTP: setup.View("/v1/today", views.VToday, setup.UpReservation)}

func init() { Function.Register() }
