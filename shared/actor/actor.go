// Package actor is who performs a request, as the domain packages see it:
// the operator, on which device and in which session, with the roles and
// property scope the session grants, and the request's id and start time
// that its activity row carries.
//
// The gate builds an Actor once the session resolves and hands it to the
// library; nothing here knows about HTTP, tokens or Redis, so the domain's
// rules (scope, roles, write-once decisions, expiry) can be called and
// tested directly with a plain value.
package actor

import (
	"slices"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Actor is the operator behind a request. SessionID, Roles, PropertyScope
// and PrimaryPropertyID are empty until a session is resolved (a request
// refused before that still has an operator and a device to record).
type Actor struct {
	TenantID   string
	OperatorID string
	DeviceID   string
	SessionID  string
	Roles      []string
	// PropertyScope lists the properties the operator may act on.
	PropertyScope []string
	// PrimaryPropertyID is the session's chosen property; empty when the
	// operator chose none.
	PrimaryPropertyID string
	// RequestID ties the activity row and the logs to the request.
	RequestID string
	// Start is when the request arrived: the row's occurredAt, and the
	// origin of its latency.
	Start time.Time
	// TokenExpiresAt is when the request's access token expires: what a
	// long-lived answer (the event stream) must not outlive. Zero: unknown.
	TokenExpiresAt time.Time
}

// InScope reports whether propertyID is in the actor's property scope.
func (a Actor) InScope(propertyID string) bool {
	return slices.Contains(a.PropertyScope, propertyID)
}

// HasRole reports whether the actor holds any of roles.
func (a Actor) HasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// DefaultProperty is the property a property-scoped request uses when it
// names none: the primary property, else the first in scope, else "".
func (a Actor) DefaultProperty() string {
	if a.PrimaryPropertyID != "" {
		return a.PrimaryPropertyID
	}
	if len(a.PropertyScope) > 0 {
		return a.PropertyScope[0]
	}
	return ""
}

// CheckProperty validates a property id named in request field field: 400
// VALIDATION_FAILED when it is not a property id, 403 PROPERTY_OUT_OF_SCOPE
// when the actor may not act on it.
func (a Actor) CheckProperty(field, id string) error {
	if err := ids.Check(ids.Property, id); err != nil {
		return apperr.Validation(apperr.FieldError{Field: field, Message: err.Error()})
	}
	if !a.InScope(id) {
		return apperr.New(apperr.PropertyOutOfScope, "property %s is not in the session's scope", id)
	}
	return nil
}

// Property resolves the property a property-scoped request is about: id
// when the request names one (it must pass CheckProperty), else the
// actor's default.
func (a Actor) Property(field, id string) (string, error) {
	if id == "" {
		return a.DefaultProperty(), nil
	}
	return id, a.CheckProperty(field, id)
}

// RequireRole fails with 403 FORBIDDEN_ROLE unless the actor holds one of
// roles.
func (a Actor) RequireRole(roles ...string) error {
	if a.HasRole(roles...) {
		return nil
	}
	return apperr.New(apperr.ForbiddenRole, "this action needs one of the roles %s", strings.Join(roles, ", "))
}
