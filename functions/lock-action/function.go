// Package lockaction is the `lock-action` function: POST
// /v1/reservations/{rsvId}/keys/{issue|revoke|rebind|extend} — a door-key
// action proxied to lock-service with its LockActionProxyAudit row written
// before the call and settled after; revoke needs a step-up MFA attestation
// (X-MFA-Attestation, scope lock_revoke) and is verified by reading the
// key's state back.
package lockaction

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/lockaction"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/proxied/proxiedhttp"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `lock-action` function as deployed.
var Function = boot.Function{Name: "lock-action", EntryPoint: "LockAction", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	s := b.LockActions()
	return idemhttp.Mux(b, map[string]gate.Handler{
		"POST /v1/reservations/{rsvId}/keys/{action}": act(s),
	})
})}

func init() { Function.Register() }

func act(s *lockaction.Service) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		action := c.Request.PathValue("action")
		// An unknown action gets no row for a bad body: there is no
		// action to name (Act refuses it with its own row otherwise).
		var bad activity.Note
		if lockaction.ValidAction(action) {
			bad = activity.Note{Category: activity.CategoryLockAction, Action: activity.DoorKey(action)}
		}
		return proxiedhttp.WithBody(http.StatusCreated, bad, func(ctx context.Context, c *gate.Call, h proxied.Headers, body lockaction.Body) (lockaction.Result, activity.Note, error) {
			return s.Act(ctx, c.Actor, lockaction.Request{ReservationID: c.Request.PathValue("rsvId"), Action: action, Body: body, Headers: h})
		})(ctx, c)
	}
}
