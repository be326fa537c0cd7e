// Package reservationchanged is the `reservation-changed` function: it drops a property's cached views on melmastoon.reservation.changed.v1.
// Idempotent by event id (consume) and by construction.
package reservationchanged

import (
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Function is the `reservation-changed` function as deployed; the consumer name keys
// its processed-event markers, so it never changes.
var Function = boot.Function{Name: "reservation-changed", EntryPoint: "ReservationChanged", StartEvent: boot.Consumer("reservation-changed", New)}

func init() { Function.Register() }

// New returns the event handler.
func New(rdb *redisx.Client) consume.Func {
	return views.PropertyChanged(compose.New(rdb, compose.Options{}))
}
