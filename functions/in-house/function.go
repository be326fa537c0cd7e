// Package inhouse is the `in-house` function: GET /v1/in-house — the guests in house at a property.
package inhouse

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `in-house` function as deployed: composed from
// reservation-service alone, so it is configured with that URL only.
var Function = boot.Function{Name: "in-house", EntryPoint: "InHouse", StartHTTP: setup.View("in-house", "/v1/in-house", setup.UpReservation)}

func init() { Function.Register() }
