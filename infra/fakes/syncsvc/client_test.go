package syncsvc_test

// The BFF's sync-service client (shared/upstream/syncsvc) against this
// fake over real HTTP; here because shared must not import infra.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/syncsvc"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
)

func build(ops *demo.Ops) *scoped.Service { return fake.New(ops).Service }

func newClient(t testing.TB, url string, timeout time.Duration) *syncsvc.Client {
	t.Helper()
	c, err := syncsvc.NewClient(syncsvc.Config{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientDecodesDevicesStatus(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	for _, tn := range r.DS.Tenants {
		for _, p := range tn.Properties {
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				st, err := c.DevicesStatus(context.Background(), tn.ID, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				scopedtest.SameJSON(t, "DevicesStatus", r.Snapshot(t, tn.ID, p.ID).Devices(), st)
				s := st.Summary
				if s.Online+s.Lagging+s.Offline != len(st.Devices) || s.Lagging == 0 || s.Offline == 0 {
					t.Errorf("summary %+v for %d devices", s, len(st.Devices))
				}
				for _, d := range st.Devices {
					if d.LastSeenAt.After(scopedtest.Fixed) {
						t.Errorf("device %s seen in the future: %v", d.DeviceID, d.LastSeenAt)
					}
				}
			})
		}
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	scopedtest.Failures(t, build, syncsvc.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
		c := newClient(t, url, timeout)
		return func(ctx context.Context, tid, pid string) error { _, err := c.DevicesStatus(ctx, tid, pid); return err }
	})
}

// The cursor calls against the fake: the cursor starts at version 1, a
// handshake moves it one past the version sent, and a version behind the
// held one is a conflict.
func TestClientCursorAndHandshake(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	ctx := context.Background()
	tid, pid := r.DS.Tenants[0].ID, r.DS.Tenants[0].Properties[0].ID
	dev := ids.New(ids.Device)
	cur, err := c.DeviceCursor(ctx, tid, pid, dev)
	if err != nil || cur.CursorVersion != 1 || cur.PullCursor == "" || cur.ServerTimestamp.IsZero() {
		t.Fatalf("first cursor = %+v, %v", cur, err)
	}
	next, err := c.Handshake(ctx, tid, pid, dev, syncsvc.Handshake{PullCursor: cur.PullCursor, PushAck: cur.PushAck, CursorVersion: 1})
	if err != nil || next.CursorVersion != 2 {
		t.Fatalf("handshake = %+v, %v", next, err)
	}
	if _, err := c.Handshake(ctx, tid, pid, dev, syncsvc.Handshake{CursorVersion: 1}); !errors.Is(err, httpc.ErrConflict) {
		t.Fatalf("stale handshake: %v", err)
	}
	if _, err := c.DeviceCursor(ctx, tid, pid, "dev_nope"); err == nil {
		t.Fatal("malformed device accepted")
	}
}
