// Package lockaction is the door-key actions the BFF proxies to
// lock-service (issue, revoke, rebind, extend), each with its
// LockActionProxyAudit row (bff.lock_action_audit) that is never missing:
//
//  1. the reservation is looked up (reservation-service) and its property
//     checked against the session's scope, the role matrix applied and, for
//     revoke, the MFA attestation spent — before anything is written or
//     sent;
//  2. the intent row (outcome 'unknown') and its lock.action_proxied.v1
//     event commit in one transaction, BEFORE lock-service is called;
//  3. lock-service is called with upstreamRequestId, derived from the
//     request's Idempotency-Key, as its idempotency key: a retry (same key)
//     finds the same row and never cuts a second key;
//  4. the row is settled with lock-service's answer. If the answer is lost
//     (timeout, the instance dies), the row stays 'unknown' and Reconcile
//     settles it by asking lock-service for the request id.
//
// A revoke is verified: the keys' state is read back, and a key still
// active (a vendor that reported success and did nothing) marks the row
// verified=false and raises a lock_failed alert in the property's inbox.
package lockaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/lock"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
)

// Outcomes of an audit row.
const (
	OutcomeUnknown = "unknown"
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// AlertRaiser puts an alert into a property's alert inbox.
type AlertRaiser func(ctx context.Context, tenantID, propertyID string, a notification.Alert) error

// Deps are what the service needs.
type Deps struct {
	DB           *pg.DB
	Relay        *outbox.Relay
	Lock         *lock.Client
	Reservations *reservation.Client
	MFA          *mfa.Service
	Alerts       AlertRaiser
	Now          func() time.Time
}

// Service performs door-key actions. Safe for concurrent use.
type Service struct{ d Deps }

// New builds the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// Body is an action's request body: issue {validUntil}, revoke {},
// rebind {roomNumber}, extend {validUntil}.
type Body struct {
	RoomNumber string        `json:"roomNumber,omitempty"`
	ValidUntil jsontime.Time `json:"validUntil,omitzero"`
}

// Result is the answer of an action lock-service performed.
type Result struct {
	AuditID  string `json:"auditId"`
	Action   string `json:"action"`
	Outcome  string `json:"outcome"`
	Vendor   string `json:"vendor"`
	KeyID    string `json:"keyId,omitempty"`
	Verified *bool  `json:"verified,omitempty"`
}

// Request is one action as the function hands it over.
type Request struct {
	ReservationID string
	Action        string
	Body          Body
	proxied.Headers
}

// ValidAction reports whether a is a door-key action.
func ValidAction(a string) bool { return slices.Contains(lock.Actions, a) }

// UpstreamRequestID is lock-service's idempotency key for the request of
// a device with idempotency key key: the same request always gets the same
// one, and no two devices or tenants share one.
func UpstreamRequestID(tenantID, deviceID, key string) string {
	return upstream.RequestID("", tenantID, deviceID, key)
}

const maxValidity = 366 * 24 * time.Hour

func (s *Service) validate(r Request) error {
	var fields []apperr.FieldError
	if err := ids.Check(ids.Reservation, r.ReservationID); err != nil {
		fields = append(fields, apperr.FieldError{Field: "rsvId", Message: err.Error()})
	}
	needRoom := r.Action == "rebind"
	needUntil := r.Action == "issue" || r.Action == "extend"
	now := s.d.Now()
	switch {
	case needRoom && (r.Body.RoomNumber == "" || len(r.Body.RoomNumber) > 16):
		fields = append(fields, apperr.FieldError{Field: "roomNumber", Message: "required, at most 16 characters"})
	case !needRoom && r.Body.RoomNumber != "":
		fields = append(fields, apperr.FieldError{Field: "roomNumber", Message: "not allowed for " + r.Action})
	}
	switch {
	case needUntil && (!r.Body.ValidUntil.After(now) || r.Body.ValidUntil.Sub(now) > maxValidity):
		fields = append(fields, apperr.FieldError{Field: "validUntil", Message: "required, in the future and within a year"})
	case !needUntil && !r.Body.ValidUntil.IsZero():
		fields = append(fields, apperr.FieldError{Field: "validUntil", Message: "not allowed for " + r.Action})
	}
	if len(fields) > 0 {
		return apperr.Validation(fields...)
	}
	return nil
}

// proxiedEvent is lock.action_proxied.v1's data: telemetry, no guest data.
type proxiedEvent struct {
	AuditID           string        `json:"auditId"`
	ReservationID     string        `json:"reservationId"`
	Action            string        `json:"action"`
	OperatorID        string        `json:"operatorId"`
	DeviceID          string        `json:"deviceId"`
	UpstreamRequestID string        `json:"upstreamRequestId"`
	MFA               bool          `json:"mfa"`
	OccurredAt        jsontime.Time `json:"occurredAt"`
}

// Act performs one door-key action for a.
func (s *Service) Act(ctx context.Context, a actor.Actor, r Request) (_ Result, note activity.Note, err error) {
	defer derrors.Wrap(&err, "lockaction.Act(%s %s)", r.Action, r.ReservationID)
	if !ValidAction(r.Action) {
		return Result{}, note, apperr.New(apperr.NotFound, "no such door-key action")
	}
	note = activity.Note{Category: activity.CategoryLockAction, Action: activity.DoorKey(r.Action)}
	note.Resource = &activity.Ref{Kind: "reservation", ID: r.ReservationID}
	if err := s.validate(r); err != nil {
		return Result{}, note, err
	}
	bk, err := s.d.Reservations.Reservation(ctx, a.TenantID, r.ReservationID)
	if err != nil {
		return Result{}, note, proxied.Found(err, "reservation")
	}
	if err := proxied.Authorize(a, &note, bk.PropertyID, access.DeskActions); err != nil {
		return Result{}, note, err
	}
	room := r.Body.RoomNumber
	if r.Action == "issue" {
		if room = bk.RoomNumber; room == "" {
			return Result{}, note, apperr.Validation(apperr.FieldError{Field: "rsvId", Message: "the reservation has no room assigned yet"})
		}
	}
	var attestation *string
	if r.Action == "revoke" {
		sp, err := s.d.MFA.Require(ctx, a, r.Attestation, mfa.ScopeLockRevoke, r.IdempotencyKey)
		if err != nil {
			return Result{}, note, err
		}
		attestation = &sp.ID
	}

	upID := UpstreamRequestID(a.TenantID, a.DeviceID, r.IdempotencyKey)
	now := s.d.Now()
	auditID := ids.NewAt(ids.LockAudit, now)
	ev, err := events.New(events.LockActionProxied, a.TenantID, bk.PropertyID, proxiedEvent{
		AuditID: auditID, ReservationID: r.ReservationID, Action: r.Action, OperatorID: a.OperatorID,
		DeviceID: a.DeviceID, UpstreamRequestID: upID, MFA: attestation != nil, OccurredAt: jsontime.Of(now),
	})
	if err != nil {
		return Result{}, note, apperr.Wrap(apperr.Internal, err, "an internal error occurred")
	}
	var existing *row
	err = s.d.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO bff.lock_action_audit
			(id, tenant_id, property_id, operator_id, device_id, session_id, reservation_id, action,
			 occurred_at, request_id, upstream_request_id, mfa_attestation_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (tenant_id, upstream_request_id) DO NOTHING`,
			auditID, a.TenantID, bk.PropertyID, a.OperatorID, a.DeviceID, a.SessionID, r.ReservationID, r.Action,
			now, a.RequestID, upID, attestation)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// A retry of a request whose first run wrote its intent: that
			// row is the one to settle, and no second event is due.
			rw, err := scanRow(tx.QueryRow(ctx, `SELECT `+rowColumns+` FROM bff.lock_action_audit
				WHERE tenant_id = $1 AND upstream_request_id = $2`, a.TenantID, upID))
			if err != nil {
				return err
			}
			existing = &rw
			return nil
		}
		return outbox.Add(ctx, tx, ev)
	})
	if err != nil {
		return Result{}, note, err
	}
	if existing != nil {
		auditID = existing.ID
		if existing.Outcome != OutcomeUnknown {
			return existing.result(), note, existing.err()
		}
	} else {
		s.d.Relay.Send(ctx, a.TenantID, ev)
	}
	note.Resource = &activity.Ref{Kind: "lock_audit", ID: auditID}

	start := time.Now()
	res, err := s.d.Lock.Act(ctx, lock.Request{
		TenantID: a.TenantID, PropertyID: bk.PropertyID, ReservationID: r.ReservationID, Action: r.Action,
		RequestID: upID, RoomNumber: room, ValidUntil: r.Body.ValidUntil.Time,
	})
	latency := time.Since(start)
	var ref *lock.Refusal
	switch {
	case errors.As(err, &ref):
		// Settled as a failure even if our caller has gone: the refusal
		// is known and must not wait for the reconciliation.
		sctx := context.WithoutCancel(ctx)
		st := settlement{Outcome: OutcomeFailure, ErrorCode: ref.Code, LatencyMs: latency.Milliseconds(), By: "request"}
		if err := s.settle(sctx, a.TenantID, auditID, st); err != nil {
			return Result{}, note, err
		}
		return Result{}, note, refusalError(ref)
	case err != nil:
		// Unknown: lock-service may or may not have acted. The row stays
		// 'unknown' for the reconciliation; the client may retry with the
		// same Idempotency-Key, which reaches the same request id.
		return Result{}, note, err
	}
	sctx := context.WithoutCancel(ctx)
	st := settlement{Outcome: OutcomeSuccess, Vendor: res.Vendor, KeyIDs: res.KeyIDs, LatencyMs: latency.Milliseconds(), By: "request"}
	if r.Action == "revoke" {
		v, err := s.verifyRevoke(sctx, a.TenantID, bk.PropertyID, r.ReservationID, res.KeyIDs)
		if err == nil {
			st.Verified = &v
		}
	}
	if err := s.settle(sctx, a.TenantID, auditID, st); err != nil {
		return Result{}, note, err
	}
	if st.Verified != nil && !*st.Verified {
		s.raiseLockFailed(sctx, a.TenantID, bk.PropertyID, auditID, r.ReservationID, res.Vendor)
	}
	out := Result{AuditID: auditID, Action: r.Action, Outcome: OutcomeSuccess, Vendor: res.Vendor, Verified: st.Verified}
	if len(res.KeyIDs) > 0 {
		out.KeyID = res.KeyIDs[0]
	}
	return out, note, nil
}

// verifyRevoke reads the reservation's keys back: true when none of the
// revoked ones is still active.
func (s *Service) verifyRevoke(ctx context.Context, tenantID, propertyID, rsvID string, revoked []string) (bool, error) {
	keys, err := s.d.Lock.Keys(ctx, tenantID, propertyID, rsvID)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.State == lock.StateActive && (len(revoked) == 0 || slices.Contains(revoked, k.KeyID)) {
			return false, nil
		}
	}
	return true, nil
}

func (s *Service) raiseLockFailed(ctx context.Context, tenantID, propertyID, auditID, rsvID, vendor string) {
	if s.d.Alerts == nil {
		return
	}
	payload, _ := json.Marshal(map[string]string{
		"auditId": auditID, "reservationId": rsvID, "vendor": vendor,
		"reason": "the lock system reported the key revoked, but it is still active",
	})
	_ = s.d.Alerts(ctx, tenantID, propertyID, notification.Alert{
		AlertID: "lockfail-" + auditID, PropertyID: propertyID, Severity: notification.SeverityCritical,
		Category: notification.Category("lock_failed"), RaisedAt: jsontime.Of(s.d.Now()), Payload: payload,
	})
}

// refusalError maps lock-service's refusal to this service's codes,
// without its text.
func refusalError(r *lock.Refusal) error {
	if r.Code == "MELMASTOON.LOCK.NO_ACTIVE_KEY" {
		return apperr.New(apperr.NotFound, "the reservation has no active door key")
	}
	return apperr.New(apperr.ValidationFailed, "the lock system refused the action")
}

type settlement struct {
	Outcome   string
	Vendor    string
	KeyIDs    []string
	ErrorCode string
	LatencyMs int64
	Verified  *bool
	By        string
}

func (s *Service) settle(ctx context.Context, tenantID, auditID string, st settlement) error {
	return s.d.DB.InTenantTx(ctx, tenantID, func(ctx context.Context, tx pgx.Tx) error {
		return settleTx(ctx, tx, tenantID, auditID, st)
	})
}

func settleTx(ctx context.Context, tx pgx.Tx, tenantID, auditID string, st settlement) error {
	var vendor, code *string
	if st.Vendor != "" {
		vendor = &st.Vendor
	}
	if st.ErrorCode != "" {
		code = &st.ErrorCode
	}
	_, err := tx.Exec(ctx, `UPDATE bff.lock_action_audit
		SET outcome = $3, vendor = $4, key_ids = $5, error_code = $6, upstream_latency_ms = $7,
		    verified = $8, settled_at = now(), settled_by = $9
		WHERE tenant_id = $1 AND id = $2 AND outcome = 'unknown'`,
		tenantID, auditID, st.Outcome, vendor, st.KeyIDs, code, st.LatencyMs, st.Verified, st.By)
	if err != nil {
		return fmt.Errorf("settle %s: %w", auditID, err)
	}
	return nil
}

// row is an audit row as read back.
type row struct {
	ID, Action, Outcome string
	Vendor, ErrorCode   *string
	KeyIDs              []string
	Verified            *bool
}

const rowColumns = `id, action, outcome, vendor, error_code, key_ids, verified`

func scanRow(r pgx.Row) (row, error) {
	var rw row
	err := r.Scan(&rw.ID, &rw.Action, &rw.Outcome, &rw.Vendor, &rw.ErrorCode, &rw.KeyIDs, &rw.Verified)
	return rw, err
}

func (rw row) result() Result {
	out := Result{AuditID: rw.ID, Action: rw.Action, Outcome: rw.Outcome, Verified: rw.Verified}
	if rw.Vendor != nil {
		out.Vendor = *rw.Vendor
	}
	if len(rw.KeyIDs) > 0 {
		out.KeyID = rw.KeyIDs[0]
	}
	return out
}

func (rw row) err() error {
	if rw.Outcome != OutcomeFailure {
		return nil
	}
	code := ""
	if rw.ErrorCode != nil {
		code = *rw.ErrorCode
	}
	return refusalError(&lock.Refusal{Code: code})
}
