// Package reservationchanged is the `reservation-changed` function: it drops a property's cached views on melmastoon.reservation.changed.v1.
// Idempotent by event id (consume) and by construction.
package reservationchanged

import (
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `reservation-changed` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "reservation-changed", EntryPoint: "ReservationChanged", StartEvent: boot.Consumer("reservation-changed", views.OnPropertyChanged)}

func init() { Function.Register() }
