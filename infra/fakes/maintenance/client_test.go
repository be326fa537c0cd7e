package maintenance_test

// The BFF's maintenance-service client (shared/upstream/maintenance)
// against this fake over real HTTP; here because shared must not import
// infra.

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/maintenance"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/maintenance"
)

func build(ops *demo.Ops) *scoped.Service { return fake.New(ops).Service }

func newClient(t testing.TB, url string, timeout time.Duration) *maintenance.Client {
	t.Helper()
	c, err := maintenance.NewClient(maintenance.Config{URL: url, Timeout: timeout})
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
				scopedtest.SameJSON(t, "Board", r.Snapshot(t, tn.ID, p.ID).MaintenanceBoard(), b)
				var want maintenance.Summary
				for _, wo := range b.WorkOrders {
					switch wo.Status {
					case maintenance.StatusOpen:
						want.Open++
					case maintenance.StatusInProgress:
						want.InProgress++
					}
					if wo.Priority == maintenance.PriorityUrgent && wo.Status != maintenance.StatusDone {
						want.Urgent++
					}
					if !wo.Priority.Valid() || wo.ReportedAt.IsZero() || wo.Title == "" {
						t.Errorf("work order %+v", wo)
					}
				}
				if b.Summary != want || len(b.WorkOrders) == 0 {
					t.Errorf("summary %+v, work orders say %+v", b.Summary, want)
				}
			})
		}
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	scopedtest.Failures(t, build, maintenance.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
		c := newClient(t, url, timeout)
		return func(ctx context.Context, tid, pid string) error { _, err := c.Board(ctx, tid, pid); return err }
	})
}
