// Package inhouse is the `in-house` function: GET /v1/in-house — the guests in house at a property.
package inhouse

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `in-house` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "in-house", EntryPoint: "InHouse",
	StartHTTP: setup.View("/v1/in-house", views.VInHouse, setup.UpReservation)}

func init() { Function.Register() }
