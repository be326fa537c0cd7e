// Package arrivals is the `arrivals` function: GET /v1/arrivals — the day's arrivals at a property.
package arrivals

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `arrivals` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "arrivals", EntryPoint: "Arrivals",
	StartHTTP: setup.View("/v1/arrivals", views.VArrivals, setup.UpReservation)}

func init() { Function.Register() }
