package housekeeping_test

// The BFF's housekeeping-service client (shared/upstream/housekeeping)
// against this fake over real HTTP; here because shared must not import
// infra.

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/housekeeping"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
)

func build(ops *demo.Ops) *scoped.Service { return fake.New(ops).Service }

func newClient(t testing.TB, url string, timeout time.Duration) *housekeeping.Client {
	t.Helper()
	c, err := housekeeping.NewClient(housekeeping.Config{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientDecodesBoard(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	for _, tn := range r.DS.Tenants {
		for _, p := range tn.Properties {
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				b, err := c.Board(context.Background(), tn.ID, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				scopedtest.SameJSON(t, "Board", r.Snapshot(t, tn.ID, p.ID).HousekeepingBoard(), b)
				counts := map[housekeeping.RoomStatus]int{}
				for _, rm := range b.Rooms {
					counts[rm.Status]++
					if !rm.Priority.Valid() || rm.UpdatedAt.IsZero() || rm.RoomNumber == "" {
						t.Errorf("room %+v", rm)
					}
				}
				want := housekeeping.Summary{
					Clean: counts[housekeeping.StatusClean], Dirty: counts[housekeeping.StatusDirty],
					Inspected: counts[housekeeping.StatusInspected], OutOfOrder: counts[housekeeping.StatusOutOfOrder],
				}
				if b.Summary != want || len(b.Rooms) == 0 {
					t.Errorf("summary %+v, rooms say %+v", b.Summary, want)
				}
			})
		}
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	scopedtest.Failures(t, build, housekeeping.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
		c := newClient(t, url, timeout)
		return func(ctx context.Context, tid, pid string) error { _, err := c.Board(ctx, tid, pid); return err }
	})
}
