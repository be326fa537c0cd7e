package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// melmastoon.iam.device.deleted.v1 ends the sessions of every operator on
// the device (forceLogout on its stream, 401 SESSION_REVOKED after) and a
// late heartbeat is refused: the device stays deleted.
func TestDeviceDeletedRevokesAndTombstones(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn, op := e.operator(0, hasRole("front_desk"))
	_, other := e.operator(0, func(o demo.Operator) bool { return o.ID != op.ID && len(o.PropertyScope) > 0 })
	shared := ids.New(ids.Device) // a terminal both use
	onShared := func(c *iam.Claims) { c.DeviceID = shared }
	tokA, tokB := e.mint(tn, op, 0, onShared), e.mint(tn, other, 0, onShared)
	for _, tok := range []string{tokA, tokB} {
		if r := e.do("POST", "/v1/devices/heartbeat", tok, `{"networkProfile":"good"}`); r.StatusCode != 200 {
			t.Fatalf("heartbeat: %d %s", r.StatusCode, r.body)
		}
	}
	// A heartbeat in flight, sent before the deletion.
	late := fmt.Sprintf(`{"sentAt":%q,"appVersion":"9.9.9"}`, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))

	closed := e.pullSubscription(events.SessionClosed)
	ev, err := events.New(events.IAMDeviceDeleted, tn.ID, "", map[string]string{"deviceId": shared})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pubsubevents.NewPublisher(ctx, e.project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "forceLogout on the device's stream, once per operator", func() bool {
		msgs, err := e.rdb.XRange(ctx, devicestream.Key(e.rdb, tn.ID, shared), "-", "+").Result()
		n := 0
		for _, m := range msgs {
			if m.Values["type"] == devicestream.TypeForceLogout {
				n++
			}
		}
		return err == nil && n == 2
	})
	got := e.pull(closed, 2)
	for _, m := range got {
		if !strings.Contains(string(m.GetData()), shared) {
			t.Errorf("session.closed of another device: %s", m.GetData())
		}
	}
	for _, tok := range []string{tokA, tokB} {
		r := e.do("GET", "/v1/session", tok, "")
		if r.StatusCode != 401 || r.problem(t) != "MELMASTOON.IAM.SESSION_REVOKED" {
			t.Errorf("after the deletion: %d %s", r.StatusCode, r.body)
		}
	}
	// Even with a fresh token (iam-service's registry lagging), the late
	// heartbeat is refused and the device is not listed.
	fresh := e.mint(tn, op, 0, func(c *iam.Claims) { c.DeviceID = shared; c.IssuedAt = time.Now().Add(2 * time.Second) })
	r := e.do("POST", "/v1/devices/heartbeat", fresh, late)
	if r.StatusCode != 404 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.NOT_FOUND" {
		t.Fatalf("late heartbeat after deletion: %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/v1/devices?limit=200", e.mint(tn, op, 0, nil), "")
	if strings.Contains(string(r.body), shared) {
		t.Errorf("deleted device listed: %s", r.body)
	}
}
