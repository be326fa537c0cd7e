package reservationaction_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/mfa/mfatest"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/reservationaction"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
)

// The upstreams are stubs of their contracts (the full fakes live in
// infra/fakes, which this module cannot import; infra/e2e runs this
// service against them); MFA attestations live in the real Redis.

// stubReservations is reservation-service: a lookup of the bookings it
// holds, and mutations answered once per Idempotency-Key. refuse, when
// set, is the refusal every mutation gets (status and a body whose text
// must never reach the BFF's caller).
type stubReservations struct {
	mu        sync.Mutex
	bookings  map[string]reservation.Booking
	answers   map[string][]byte // by Idempotency-Key
	keys      []string          // Idempotency-Keys received, in order
	bodies    []map[string]any
	mutations atomic.Int64 // mutation calls received
	performed atomic.Int64 // mutations that changed a stay
	refuse    atomic.Int64 // status of a refusal, 0: none
}

const upstreamSecret = "guest Smith owes 400 EUR, see night manager"

func (s *stubReservations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && len(parts) == 5 && parts[3] == "reservations":
		s.mu.Lock()
		b, ok := s.bookings[parts[4]]
		s.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(b)
	case r.Method == "POST" && len(parts) == 8 && parts[5] == "reservations":
		s.mutations.Add(1)
		if st := s.refuse.Load(); st != 0 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(int(st))
			_, _ = w.Write([]byte(`{"code":"MELMASTOON.RESERVATION.INVALID_STATE","detail":"` + upstreamSecret + `"}`))
			return
		}
		key := r.Header.Get("Idempotency-Key")
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.keys = append(s.keys, key)
		s.bodies = append(s.bodies, body)
		ans, seen := s.answers[key]
		if !seen {
			s.performed.Add(1)
			status := "checked_out"
			if parts[7] == "check-in" {
				status = "checked_in"
			}
			ans, _ = json.Marshal(map[string]any{"reservationId": parts[6], "propertyId": parts[4], "status": status})
			s.answers[key] = ans
		}
		_, _ = w.Write(ans)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

type rig struct {
	svc    *reservationaction.Service
	mfa    *mfa.Service
	up     *stubReservations
	tenant string
	inProp string // in the actors' scope
	outRsv string // a booking of a property outside it
	rsv    string // a booking in scope
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{tenant: ids.New(ids.Tenant), inProp: ids.New(ids.Property), rsv: ids.New(ids.Reservation), outRsv: ids.New(ids.Reservation)}
	r.up = &stubReservations{answers: map[string][]byte{}, bookings: map[string]reservation.Booking{
		r.rsv:    {ReservationID: r.rsv, PropertyID: r.inProp, Status: reservation.StatusCheckedIn, RoomNumber: "204"},
		r.outRsv: {ReservationID: r.outRsv, PropertyID: ids.New(ids.Property), Status: reservation.StatusCheckedIn, RoomNumber: "301"},
	}}
	up := httptest.NewServer(r.up)
	t.Cleanup(up.Close)
	rc, err := reservation.NewClient(reservation.Config{URL: up.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, ic := mfatest.Start(t)
	r.mfa = mfa.New(mfa.Deps{Redis: testenv.Redis(t), IAM: ic})
	r.svc = reservationaction.New(reservationaction.Deps{Reservations: rc, MFA: r.mfa})
	return r
}

func (r *rig) operator(roles ...string) actor.Actor {
	return actor.Actor{TenantID: r.tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		Roles: roles, PropertyScope: []string{r.inProp}, Start: time.Now()}
}

func (r *rig) attest(t *testing.T, a actor.Actor, scope mfa.Scope) string {
	t.Helper()
	att := mfatest.Attest(t, r.mfa, a, scope)
	return att.ID
}

func reason(s string) *string { return &s }

// Nothing reaches reservation-service's mutations for a reservation of a
// property outside the scope, a role without the right, a malformed
// request or a force-checkout without its step-up.
func TestRefusedBeforeAnyMutation(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	mgr, fd, hk := r.operator("manager"), r.operator("front_desk"), r.operator("housekeeping_lead")
	cases := []struct {
		name string
		a    actor.Actor
		req  reservationaction.Request
		want apperr.Code
	}{
		{"out of scope, check-out", mgr, reservationaction.Request{ReservationID: r.outRsv, Action: "check-out"}, apperr.PropertyOutOfScope},
		// Scope before role: a front desk operator learns nothing about
		// the override right from a reservation it may not touch.
		{"out of scope, force-checkout by front desk", fd, reservationaction.Request{ReservationID: r.outRsv, Action: "force-checkout", Body: reservationaction.Body{Reason: reason("x")}}, apperr.PropertyOutOfScope},
		{"front desk force-checkout", fd, reservationaction.Request{ReservationID: r.rsv, Action: "force-checkout", Body: reservationaction.Body{Reason: reason("x")}}, apperr.ForbiddenRole},
		{"housekeeping check-in", hk, reservationaction.Request{ReservationID: r.rsv, Action: "check-in"}, apperr.ForbiddenRole},
		{"force-checkout without MFA", mgr, reservationaction.Request{ReservationID: r.rsv, Action: "force-checkout", Body: reservationaction.Body{Reason: reason("x")}}, apperr.MFARequired},
		{"force-checkout without reason", mgr, reservationaction.Request{ReservationID: r.rsv, Action: "force-checkout"}, apperr.ValidationFailed},
		{"force-checkout with a blank reason", mgr, reservationaction.Request{ReservationID: r.rsv, Action: "force-checkout", Body: reservationaction.Body{Reason: reason("  ")}}, apperr.ValidationFailed},
		{"force-checkout with a long reason", mgr, reservationaction.Request{ReservationID: r.rsv, Action: "force-checkout", Body: reservationaction.Body{Reason: reason(strings.Repeat("é", 501))}}, apperr.ValidationFailed},
		{"check-in with a reason", mgr, reservationaction.Request{ReservationID: r.rsv, Action: "check-in", Body: reservationaction.Body{Reason: reason("x")}}, apperr.ValidationFailed},
		{"malformed id", mgr, reservationaction.Request{ReservationID: "rsv_nope", Action: "check-in"}, apperr.ValidationFailed},
		{"unknown reservation", mgr, reservationaction.Request{ReservationID: ids.New(ids.Reservation), Action: "check-in"}, apperr.NotFound},
		{"unknown action", mgr, reservationaction.Request{ReservationID: r.rsv, Action: "evict"}, apperr.NotFound},
	}
	for _, c := range cases {
		c.req.IdempotencyKey = ids.New("idk")
		_, note, err := r.svc.Act(ctx, c.a, c.req)
		if !apperr.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %s", c.name, err, c.want)
		}
		if c.want != apperr.NotFound && (note.Category != activity.CategoryMutationProxy || note.Action == "") {
			t.Errorf("%s: note %+v, want a mutation_proxy row", c.name, note)
		}
	}
	if n := r.up.mutations.Load(); n != 0 {
		t.Fatalf("%d mutation calls reached reservation-service", n)
	}
	_, _, err := r.svc.Act(ctx, mgr, reservationaction.Request{ReservationID: r.rsv, Action: "force-checkout", Body: reservationaction.Body{Reason: reason("x")}, Headers: proxied.Headers{IdempotencyKey: "k"}})
	if !apperr.Is(err, apperr.MFARequired) || !strings.Contains(apperr.From(err).Detail, "force_checkout") {
		t.Fatalf("MFA_REQUIRED does not name the scope: %v", err)
	}
}

// A force-checkout spends a force_checkout attestation: another scope's
// is refused (and not spent); a retry of the same action (same key)
// presents the same attestation again and reservation-service sees the
// same request id, so the stay changes once; a second action cannot reuse
// the attestation.
func TestForceCheckoutStepUp(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	mgr := r.operator("night_auditor")
	wrong := r.attest(t, mgr, mfa.ScopeLockRevoke)
	req := reservationaction.Request{ReservationID: r.rsv, Action: "force-checkout", Body: reservationaction.Body{Reason: reason("left without settling")},
		Headers: proxied.Headers{IdempotencyKey: ids.New("idk"), Attestation: wrong}}
	_, _, err := r.svc.Act(ctx, mgr, req)
	apperrtest.WantCode(t, err, apperr.MFAAttestationInvalid)
	if r.up.mutations.Load() != 0 {
		t.Fatal("a refused attestation reached reservation-service")
	}
	req.Attestation = r.attest(t, mgr, mfa.ScopeForceCheckout)
	res, note, err := r.svc.Act(ctx, mgr, req)
	if err != nil || res.Status != reservation.StatusCheckedOut || res.PropertyID != r.inProp || res.Action != "force-checkout" {
		t.Fatalf("force-checkout: %+v, %v", res, err)
	}
	if note.Action != activity.ActionReservationForceCheckout || note.PropertyID != r.inProp || note.Resource.ID != r.rsv {
		t.Fatalf("note %+v", note)
	}
	again, _, err := r.svc.Act(ctx, mgr, req)
	if err != nil || again != res || r.up.performed.Load() != 1 {
		t.Fatalf("retry: %+v, %v (performed %d)", again, err, r.up.performed.Load())
	}
	r.up.mu.Lock()
	keys, bodies := append([]string(nil), r.up.keys...), r.up.bodies
	r.up.mu.Unlock()
	want := reservationaction.UpstreamRequestID(mgr.TenantID, mgr.DeviceID, req.IdempotencyKey)
	if len(keys) != 2 || keys[0] != want || keys[1] != want || bodies[0]["reason"] != "left without settling" {
		t.Fatalf("upstream keys %v (want %s twice), bodies %v", keys, want, bodies)
	}
	other := req
	other.IdempotencyKey = ids.New("idk")
	_, _, err = r.svc.Act(ctx, mgr, other)
	apperrtest.WantCode(t, err, apperr.MFAAttestationInvalid)
}

// Check-in and check-out need no step-up; the desk roles may take them.
func TestDeskActions(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, role := range []string{"front_desk", "night_auditor", "manager", "admin"} {
		a := r.operator(role)
		for _, action := range []string{"check-in", "check-out"} {
			res, note, err := r.svc.Act(context.Background(), a, reservationaction.Request{ReservationID: r.rsv, Action: action, Headers: proxied.Headers{IdempotencyKey: ids.New("idk")}})
			if err != nil || res.ReservationID != r.rsv || note.Action != reservationaction.Action(action) {
				t.Fatalf("%s %s: %+v %+v %v", role, action, res, note, err)
			}
		}
	}
	if r.up.performed.Load() != 8 {
		t.Fatalf("performed %d, want 8", r.up.performed.Load())
	}
}

// Two devices that pick the same Idempotency-Key are different requests
// upstream.
func TestUpstreamRequestIDIsPerDevice(t *testing.T) {
	t.Parallel()
	tn := ids.New(ids.Tenant)
	a := reservationaction.UpstreamRequestID(tn, ids.New(ids.Device), "k")
	b := reservationaction.UpstreamRequestID(tn, ids.New(ids.Device), "k")
	if a == b || len(a) > 128 {
		t.Fatalf("%s, %s", a, b)
	}
}

// reservation-service's refusals come back as this service's codes; its
// text never does.
func TestRefusalsMapWithoutUpstreamText(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	mgr := r.operator("manager")
	for status, want := range map[int]apperr.Code{409: apperr.ValidationFailed, 422: apperr.ValidationFailed, 404: apperr.NotFound, 400: apperr.ValidationFailed} {
		r.up.refuse.Store(int64(status))
		_, note, err := r.svc.Act(context.Background(), mgr, reservationaction.Request{ReservationID: r.rsv, Action: "check-out", Headers: proxied.Headers{IdempotencyKey: ids.New("idk")}})
		e := apperr.From(err)
		if e.Code != want {
			t.Fatalf("upstream %d: %v, want %s", status, err, want)
		}
		if strings.Contains(e.Detail, "Smith") || strings.Contains(e.Error(), "Smith") {
			t.Fatalf("upstream %d: the upstream's text leaked: %q", status, e.Detail)
		}
		// The row records the failure, with the BFF's code.
		if en := activity.EntryOf(mgr, note, err); en.Outcome != activity.OutcomeFailure || en.Error == nil || en.Error.Code != string(want) {
			t.Fatalf("upstream %d: row %+v", status, en)
		}
	}
}
