package reservation_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/reservation"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
)

// actRig is the fake on the fixed clock with its client, and a stay of
// each kind at the first demo property.
type actRig struct {
	*scopedtest.Rig
	fake     *fake.Service
	c        *reservation.Client
	tenantID string
	propID   string
	expected string // an arrival not yet checked in
	inHouse  []string
}

func newActRig(t *testing.T) *actRig {
	t.Helper()
	var f *fake.Service
	r := scopedtest.Start(t, func(ops *demo.Ops) *scoped.Service { f = fake.New(ops, fakes.WithLatency(0, 0)); return f.Service })
	tn := r.DS.Tenants[0]
	p := tn.Properties[0]
	ar := &actRig{Rig: r, fake: f, c: newClient(t, r.URL, 2*time.Second), tenantID: tn.ID, propID: p.ID}
	sn := r.Snapshot(t, tn.ID, p.ID)
	for _, st := range sn.Arrivals(sn.Today).Items {
		if st.Status == demo.StayExpected {
			ar.expected = st.ReservationID
			break
		}
	}
	for _, st := range sn.InHouse().Items {
		ar.inHouse = append(ar.inHouse, st.ReservationID)
	}
	if ar.expected == "" || len(ar.inHouse) < 3 {
		t.Fatalf("the demo property has no expected arrival or too few guests in house at %s", scopedtest.Fixed)
	}
	return ar
}

func (ar *actRig) act(rsv, action, key, reason string) (reservation.Acted, error) {
	return ar.c.Act(context.Background(), reservation.ActRequest{
		TenantID: ar.tenantID, PropertyID: ar.propID, ReservationID: rsv, Action: action, RequestID: key, Reason: reason,
	})
}

func wantRefusal(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ref *reservation.Refusal
	if !errors.As(err, &ref) || ref.Status != status || (code != "" && ref.Code != code) {
		t.Fatalf("err = %v, want refusal %d %s", err, status, code)
	}
}

// A stay moves expected → checked_in → checked_out, the lookup follows,
// and each request id changes it once.
func TestStayMutations(t *testing.T) {
	t.Parallel()
	ar := newActRig(t)
	ctx := context.Background()
	got, err := ar.act(ar.expected, reservation.ActionCheckIn, "req-in", "")
	if err != nil || got.Status != reservation.StatusCheckedIn || got.PropertyID != ar.propID {
		t.Fatalf("check-in: %+v, %v", got, err)
	}
	again, err := ar.act(ar.expected, reservation.ActionCheckIn, "req-in", "")
	if err != nil || again != got || ar.fake.Performed("check-in") != 1 {
		t.Fatalf("replayed check-in: %+v, %v (performed %d)", again, err, ar.fake.Performed("check-in"))
	}
	b, err := ar.c.Reservation(ctx, ar.tenantID, ar.expected)
	if err != nil || b.Status != reservation.StatusCheckedIn {
		t.Fatalf("lookup after check-in: %+v, %v", b, err)
	}
	_, err = ar.act(ar.expected, reservation.ActionCheckIn, "req-in-2", "")
	wantRefusal(t, err, 409, "MELMASTOON.RESERVATION.INVALID_STATE")

	out, err := ar.act(ar.expected, reservation.ActionCheckOut, "req-out", "")
	if err != nil || out.Status != reservation.StatusCheckedOut {
		t.Fatalf("check-out: %+v, %v", out, err)
	}
	_, err = ar.act(ar.expected, reservation.ActionForceCheckout, "req-force", "will not leave")
	wantRefusal(t, err, 409, "MELMASTOON.RESERVATION.INVALID_STATE")

	_, err = ar.act(ar.inHouse[0], reservation.ActionForceCheckout, "req-force-2", "")
	wantRefusal(t, err, 422, "MELMASTOON.RESERVATION.VALIDATION_FAILED")
	forced, err := ar.act(ar.inHouse[0], reservation.ActionForceCheckout, "req-force-3", "refuses to settle, left the keys")
	if err != nil || forced.Status != reservation.StatusCheckedOut {
		t.Fatalf("force-checkout: %+v, %v", forced, err)
	}
	// The same key for another stay: the fake refuses, performs nothing.
	_, err = ar.act(ar.inHouse[1], reservation.ActionForceCheckout, "req-force-3", "refuses to settle, left the keys")
	wantRefusal(t, err, 422, "MELMASTOON.RESERVATION.IDEMPOTENCY_KEY_REUSED")
	// Another property's path: not found there.
	other := ar.DS.Tenants[0].Properties[1].ID
	_, err = ar.c.Act(ctx, reservation.ActRequest{TenantID: ar.tenantID, PropertyID: other, ReservationID: ar.inHouse[1], Action: reservation.ActionCheckOut, RequestID: "req-x"})
	wantRefusal(t, err, 404, "")
	if ar.fake.Performed("check-in") != 1 || ar.fake.Performed("check-out") != 1 || ar.fake.Performed("force-checkout") != 1 {
		t.Fatalf("performed %d/%d/%d", ar.fake.Performed("check-in"), ar.fake.Performed("check-out"), ar.fake.Performed("force-checkout"))
	}
	if n := ar.Svc.Fake().Count("POST", "/v1/tenants/"+ar.tenantID+"/properties/"+ar.propID+"/reservations/"+ar.expected+"/check-in"); n != 3 {
		t.Fatalf("/__stats counts %d check-in calls, want 3", n)
	}
}

// The answer is lost after the stay changed (dropAfter): the retry with
// the same request id gets the first answer and changes nothing again.
func TestLostAnswerRetriedOnce(t *testing.T) {
	t.Parallel()
	ar := newActRig(t)
	if err := ar.Svc.Fake().SetFault(fakes.Fault{Path: "/v1/tenants/", DropAfter: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.act(ar.inHouse[2], reservation.ActionCheckOut, "req-lost", ""); err == nil {
		t.Fatal("check-out answered through a dropped connection")
	}
	if ar.fake.Performed("check-out") != 1 {
		t.Fatalf("performed %d before the retry", ar.fake.Performed("check-out"))
	}
	ar.Svc.Fake().ClearFaults()
	got, err := ar.act(ar.inHouse[2], reservation.ActionCheckOut, "req-lost", "")
	if err != nil || got.Status != reservation.StatusCheckedOut || ar.fake.Performed("check-out") != 1 {
		t.Fatalf("retry: %+v, %v (performed %d)", got, err, ar.fake.Performed("check-out"))
	}
}

// Concurrent check-outs of one stay under different request ids: exactly
// one changes it, the rest are refused for its state.
func TestConcurrentCheckOutsOfOneStay(t *testing.T) {
	t.Parallel()
	ar := newActRig(t)
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ar.act(ar.inHouse[1], reservation.ActionCheckOut, "req-c-"+string(rune('a'+i)), "")
			mu.Lock()
			defer mu.Unlock()
			var ref *reservation.Refusal
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ref) && ref.Status == 409:
				refused++
			default:
				t.Errorf("check-out: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || refused != n-1 || ar.fake.Performed("check-out") != 1 {
		t.Fatalf("%d succeeded, %d refused, performed %d", ok, refused, ar.fake.Performed("check-out"))
	}
}
