// Package reservationaction is the `reservation-action` function: POST
// /v1/reservations/{rsvId}/check-in, /check-out and /force-checkout — stay
// mutations proxied to reservation-service after the reservation's
// property, the role and (force-checkout) step-up MFA are checked
// (shared/reservationaction).
package reservationaction

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/proxied/proxiedhttp"
	"github.com/melmastoon/bff-backoffice/shared/reservationaction"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `reservation-action` function as deployed.
var Function = boot.Function{Name: "reservation-action", EntryPoint: "ReservationAction", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	s := b.ReservationActions()
	return idemhttp.Mux(b, map[string]gate.Handler{
		"POST /v1/reservations/{rsvId}/check-in":       post(s, reservationaction.ActionCheckIn),
		"POST /v1/reservations/{rsvId}/check-out":      post(s, reservationaction.ActionCheckOut),
		"POST /v1/reservations/{rsvId}/force-checkout": post(s, reservationaction.ActionForceCheckout),
	})
})}

func init() { Function.Register() }

func post(s *reservationaction.Service, action string) gate.Handler {
	return proxiedhttp.WithBody(http.StatusOK, activity.Note{Category: activity.CategoryMutationProxy, Action: reservationaction.Action(action)},
		func(ctx context.Context, c *gate.Call, h proxied.Headers, body reservationaction.Body) (reservationaction.Result, activity.Note, error) {
			return s.Act(ctx, c.Actor, reservationaction.Request{ReservationID: c.Request.PathValue("rsvId"), Action: action, Body: body, Headers: h})
		})
}
