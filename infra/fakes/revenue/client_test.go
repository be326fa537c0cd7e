package revenue_test

// The BFF's revenue-service client (shared/upstream/revenue) against this
// fake over real HTTP; here because shared must not import infra.

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/revenue"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/revenue"
)

func build(ops *demo.Ops) *scoped.Service { return fake.New(ops).Service }

func newClient(t testing.TB, url string, timeout time.Duration) *revenue.Client {
	t.Helper()
	c, err := revenue.NewClient(revenue.Config{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientDecodesEveryEndpoint(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	ctx := context.Background()
	for _, tn := range r.DS.Tenants {
		for _, p := range tn.Properties {
			sn := r.Snapshot(t, tn.ID, p.ID)
			for _, d := range []demo.Date{sn.Today - 1, sn.Today, sn.Today + 7} {
				t.Run(p.Name+"/"+d.String(), func(t *testing.T) {
					t.Parallel()
					occ, err := c.Occupancy(ctx, tn.ID, p.ID, d.String())
					if err != nil {
						t.Fatal(err)
					}
					scopedtest.SameJSON(t, "Occupancy", sn.Occupancy(d), occ)
					rev, err := c.Revenue(ctx, tn.ID, p.ID, d.String())
					if err != nil {
						t.Fatal(err)
					}
					scopedtest.SameJSON(t, "Revenue", sn.Revenue(d), rev)
					for _, m := range []string{occ.ADR.Currency, occ.RevPAR.Currency, rev.RoomRevenue.Currency, rev.MonthToDate.Currency} {
						if m != p.Currency() {
							t.Errorf("currency %s at %s, want %s", m, p.Name, p.Currency())
						}
					}
				})
			}
		}
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	date := scopedtest.Fixed.Format(time.DateOnly)
	t.Run("occupancy", func(t *testing.T) {
		t.Parallel()
		scopedtest.Failures(t, build, revenue.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
			c := newClient(t, url, timeout)
			return func(ctx context.Context, tid, pid string) error {
				_, err := c.Occupancy(ctx, tid, pid, date)
				return err
			}
		})
	})
	t.Run("revenue", func(t *testing.T) {
		t.Parallel()
		scopedtest.Failures(t, build, revenue.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
			c := newClient(t, url, timeout)
			return func(ctx context.Context, tid, pid string) error { _, err := c.Revenue(ctx, tid, pid, date); return err }
		})
	})
}
