// Package proxied is what every mutation the BFF proxies to a system of
// record (a stay, a folio, a door key) checks before anything is written
// or sent, in one order: the resource is looked up upstream, its property
// checked against the session's scope, then the role, then — where the
// action is sensitive — the step-up MFA attestation is spent. Out of scope
// is said before a missing role, so a refusal tells nothing about a
// property the session may not see; and nothing reaches the upstream's
// mutations for such a property.
package proxied

import (
	"errors"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// Headers are what a proxied mutation's request carries beside its path
// and body.
type Headers struct {
	// IdempotencyKey is the request's Idempotency-Key: the seed of the
	// upstream request id (upstream.RequestID) and the spender of the
	// attestation.
	IdempotencyKey string
	// Attestation is the X-MFA-Attestation header.
	Attestation string
}

// Found maps the upstream lookup of the resource a mutation is about:
// its 404 becomes NOT_FOUND "no such <what>"; any other error stays what
// it is (the upstream failed, not the request).
func Found(err error, what string) error {
	if errors.Is(err, httpc.ErrNotFound) {
		return apperr.New(apperr.NotFound, "no such %s", what)
	}
	return err
}

// Authorize checks a's scope over the found resource's property, then its
// role. note gets the property first, so the activity row of a refusal
// names it too.
func Authorize(a actor.Actor, note *activity.Note, propertyID string, right access.Right) error {
	note.PropertyID = propertyID
	if err := a.CheckProperty("propertyId", propertyID); err != nil {
		return err
	}
	return access.Require(a.Roles, right)
}
