package lock_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes/lock"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	lockc "github.com/melmastoon/bff-backoffice/shared/upstream/lock"
)

// The shared/upstream/lock client against this fake: the contract both
// sides keep.
func TestClientAgainstTheFake(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	cl, err := lockc.NewClient(lockc.Config{URL: r.srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := lockc.Request{TenantID: r.tenant, PropertyID: r.prop, ReservationID: r.rsv, Action: "issue",
		RequestID: "up-1", RoomNumber: "204", ValidUntil: time.Now().Add(48 * time.Hour)}
	res, err := cl.Act(ctx, req)
	if err != nil || res.Outcome != "success" || len(res.KeyIDs) != 1 || res.Vendor != r.s.Vendor(r.prop) {
		t.Fatalf("issue = %+v, %v", res, err)
	}
	again, err := cl.Act(ctx, req)
	if err != nil || again.KeyIDs[0] != res.KeyIDs[0] || r.s.Performed("issue") != 1 {
		t.Fatalf("retry = %+v, %v (performed %d)", again, err, r.s.Performed("issue"))
	}
	keys, err := cl.Keys(ctx, r.tenant, r.prop, r.rsv)
	if err != nil || len(keys) != 1 || keys[0].State != lockc.StateActive || keys[0].RoomNumber != "204" {
		t.Fatalf("keys = %+v, %v", keys, err)
	}
	// A lost answer is found by its request id; an unsent one is not.
	if got, err := cl.Lookup(ctx, r.tenant, r.prop, "up-1"); err != nil || got.KeyIDs[0] != res.KeyIDs[0] {
		t.Fatalf("lookup = %+v, %v", got, err)
	}
	if _, err := cl.Lookup(ctx, r.tenant, r.prop, "up-never"); !errors.Is(err, lockc.ErrNeverReceived) {
		t.Fatalf("lookup of an unsent request = %v", err)
	}
	// Refusals carry lock-service's status and code, no text.
	_, err = cl.Act(ctx, lockc.Request{TenantID: r.tenant, PropertyID: r.prop, ReservationID: r.rsv, Action: "rebind", RequestID: "up-2"})
	var ref *lockc.Refusal
	if !errors.As(err, &ref) || ref.Status != http.StatusUnprocessableEntity || ref.Code != "MELMASTOON.LOCK.VALIDATION_FAILED" {
		t.Fatalf("rebind without a room = %v", err)
	}
	if _, err := cl.Act(ctx, lockc.Request{TenantID: r.tenant, PropertyID: r.prop, ReservationID: r.rsv, Action: "revoke", RequestID: "up-3"}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.Act(ctx, lockc.Request{TenantID: r.tenant, PropertyID: r.prop, ReservationID: r.rsv, Action: "revoke", RequestID: "up-4"})
	if !errors.As(err, &ref) || ref.Status != http.StatusConflict || ref.Code != "MELMASTOON.LOCK.NO_ACTIVE_KEY" {
		t.Fatalf("revoke without a key = %v", err)
	}
	if _, err := cl.Lookup(ctx, r.tenant, r.prop, "up-4"); !errors.As(err, &ref) || ref.Status != http.StatusConflict {
		t.Fatalf("lookup of a refused request = %v", err)
	}
	// An outage is UPSTREAM_UNAVAILABLE.
	r.s.SetFaults(lock.Faults{HoldAnswers: true})
	short, _ := lockc.NewClient(lockc.Config{URL: r.srv.URL, Timeout: 100 * time.Millisecond})
	_, err = short.Act(ctx, lockc.Request{TenantID: r.tenant, PropertyID: r.prop, ReservationID: r.rsv, Action: "issue",
		RequestID: "up-5", RoomNumber: "1", ValidUntil: time.Now().Add(time.Hour)})
	if !apperr.Is(err, apperr.UpstreamUnavailable) {
		t.Fatalf("held answer = %v", err)
	}
}
