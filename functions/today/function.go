// Package today is the `today` function: GET /v1/today — the day's arrivals and departures at a property.
package today

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `today` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "today", EntryPoint: "Today", StartHTTP: setup.View("today", "/v1/today", setup.UpReservation)}

func init() { Function.Register() }
