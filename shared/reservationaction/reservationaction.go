// Package reservationaction is the stay mutations the BFF proxies to
// reservation-service: check-in, check-out and force-checkout.
//
// In order, before anything is sent: the body is validated, the
// reservation looked up (reservation-service) and its property checked
// against the session's scope, the role matrix applied (check-in and
// check-out: desk actions; force-checkout: override), and step-up MFA spent
// where it is due — every force-checkout (scope force_checkout), which
// checks a guest out whatever their folio or stay says and so is the one a
// thief or an angry employee would reach for. The request's Idempotency-Key,
// bound to tenant and device, becomes reservation-service's idempotency
// key, so a retry whose first answer was lost changes the stay no second
// time. reservation-service's refusals map to this service's codes without
// its text; the activity row (mutation_proxy) records the outcome.
package reservationaction

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
)

// Actions, as the path names them.
const (
	ActionCheckIn       = reservation.ActionCheckIn
	ActionCheckOut      = reservation.ActionCheckOut
	ActionForceCheckout = reservation.ActionForceCheckout
)

// MaxReason bounds a force-checkout's reason, in characters.
const MaxReason = 500

// Deps are what the service needs.
type Deps struct {
	Reservations *reservation.Client
	MFA          *mfa.Service
}

// Service performs stay mutations. Safe for concurrent use.
type Service struct{ d Deps }

// New builds the service.
func New(d Deps) *Service { return &Service{d: d} }

// Body is the request body: check-in and check-out {}, force-checkout
// {reason}.
type Body struct {
	Reason *string `json:"reason,omitempty"`
}

// Request is one mutation as the function hands it over.
type Request struct {
	ReservationID, Action string
	Body                  Body
	proxied.Headers
}

// Result is the stay after the mutation.
type Result struct {
	ReservationID string             `json:"reservationId"`
	PropertyID    string             `json:"propertyId"`
	Action        string             `json:"action"`
	Status        reservation.Status `json:"status"`
}

// UpstreamRequestID is reservation-service's idempotency key for a
// device's request with idempotency key key. Derived, not forwarded as
// is: two devices (or tenants) that happen to pick the same key must not
// share an answer upstream.
func UpstreamRequestID(tenantID, deviceID, key string) string {
	return upstream.RequestID("reservation", tenantID, deviceID, key)
}

// Action is the activity action of a stay mutation ("" for an unknown one).
func Action(action string) string {
	switch action {
	case ActionCheckIn:
		return activity.ActionReservationCheckIn
	case ActionCheckOut:
		return activity.ActionReservationCheckOut
	case ActionForceCheckout:
		return activity.ActionReservationForceCheckout
	}
	return ""
}

func validate(r Request) error {
	var fields []apperr.FieldError
	bad := func(f, m string) { fields = append(fields, apperr.FieldError{Field: f, Message: m}) }
	if err := ids.Check(ids.Reservation, r.ReservationID); err != nil {
		bad("rsvId", err.Error())
	}
	switch reason := r.Body.Reason; {
	case r.Action == ActionForceCheckout && (reason == nil || strings.TrimSpace(*reason) == ""):
		bad("reason", "required: why the guest is checked out by force")
	case r.Action == ActionForceCheckout && (utf8.RuneCountInString(*reason) > MaxReason || !utf8.ValidString(*reason)):
		bad("reason", "at most 500 characters of valid UTF-8")
	case r.Action != ActionForceCheckout && reason != nil:
		bad("reason", "only a forced check-out takes a reason")
	}
	if len(fields) > 0 {
		return apperr.Validation(fields...)
	}
	return nil
}

// Act performs one stay mutation for a.
func (s *Service) Act(ctx context.Context, a actor.Actor, r Request) (_ Result, note activity.Note, err error) {
	defer derrors.Wrap(&err, "reservationaction.Act(%s %s)", r.Action, r.ReservationID)
	if !reservation.ValidAction(r.Action) {
		return Result{}, note, apperr.New(apperr.NotFound, "no such reservation action")
	}
	note = activity.Note{Category: activity.CategoryMutationProxy, Action: Action(r.Action), Resource: &activity.Ref{Kind: "reservation", ID: r.ReservationID}}
	if err := validate(r); err != nil {
		return Result{}, note, err
	}
	bk, err := s.d.Reservations.Reservation(ctx, a.TenantID, r.ReservationID)
	if err != nil {
		return Result{}, note, proxied.Found(err, "reservation")
	}
	right := access.DeskActions
	if r.Action == ActionForceCheckout {
		right = access.Override
	}
	if err := proxied.Authorize(a, &note, bk.PropertyID, right); err != nil {
		return Result{}, note, err
	}
	var reason string
	if r.Action == ActionForceCheckout {
		reason = *r.Body.Reason
		if _, err := s.d.MFA.Require(ctx, a, r.Attestation, mfa.ScopeForceCheckout, r.IdempotencyKey); err != nil {
			return Result{}, note, err
		}
	}
	out, err := s.d.Reservations.Act(ctx, reservation.ActRequest{
		TenantID: a.TenantID, PropertyID: bk.PropertyID, ReservationID: r.ReservationID, Action: r.Action,
		RequestID: UpstreamRequestID(a.TenantID, a.DeviceID, r.IdempotencyKey), Reason: reason,
	})
	if err != nil {
		return Result{}, note, refusalError(err, r.Action)
	}
	return Result{ReservationID: out.ReservationID, PropertyID: out.PropertyID, Action: r.Action, Status: out.Status}, note, nil
}

// refusalError maps reservation-service's refusals to this service's
// codes; its own text never reaches the caller, only what the BFF can say
// for itself.
func refusalError(err error, action string) error {
	var ref *reservation.Refusal
	if !errors.As(err, &ref) {
		return err
	}
	switch {
	case ref.Status == http.StatusNotFound:
		return apperr.New(apperr.NotFound, "no such reservation")
	case ref.Status == http.StatusConflict && action == ActionCheckIn:
		return apperr.New(apperr.ValidationFailed, "the reservation cannot be checked in: it is not an expected arrival")
	case ref.Status == http.StatusConflict:
		return apperr.New(apperr.ValidationFailed, "the reservation cannot be checked out: the guest is not in house")
	}
	return apperr.New(apperr.ValidationFailed, "the reservation system refused the action")
}
