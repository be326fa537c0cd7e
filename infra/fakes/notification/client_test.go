package notification_test

// The BFF's notification-service client (shared/upstream/notification)
// against this fake over real HTTP; here because shared must not import
// infra.

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/notification"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
)

func build(ops *demo.Ops) *scoped.Service { return fake.New(ops).Service }

func newClient(t testing.TB, url string, timeout time.Duration) *notification.Client {
	t.Helper()
	c, err := notification.NewClient(notification.Config{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientDecodesAlerts(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	ctx := context.Background()
	critical := 0
	for _, tn := range r.DS.Tenants {
		for _, p := range tn.Properties {
			sn := r.Snapshot(t, tn.ID, p.ID)
			open, err := c.Alerts(ctx, tn.ID, p.ID, notification.StatusOpen)
			if err != nil {
				t.Fatal(err)
			}
			scopedtest.SameJSON(t, p.Name+" Alerts(open)", sn.Alerts(false).Items, open)
			all, err := c.Alerts(ctx, tn.ID, p.ID, notification.StatusAll)
			if err != nil {
				t.Fatal(err)
			}
			scopedtest.SameJSON(t, p.Name+" Alerts(all)", sn.Alerts(true).Items, all)
			sum, err := c.Summary(ctx, tn.ID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := notification.Summary{Open: len(open)}
			for _, a := range open {
				if a.Severity == notification.SeverityCritical {
					want.Critical++
				}
				if !a.ResolvedAt.IsZero() || a.PropertyID != p.ID || len(a.Payload) == 0 {
					t.Errorf("open alert %+v", a)
				}
			}
			if sum != want {
				t.Errorf("%s: summary %+v, list says %+v", p.Name, sum, want)
			}
			if len(all) <= len(open) {
				t.Errorf("%s: all (%d) should add resolved alerts to open (%d)", p.Name, len(all), len(open))
			}
			if want.Critical > 0 {
				critical++
			}
		}
	}
	if critical != 1 {
		t.Fatalf("%d properties have a critical alert, want exactly one", critical)
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	t.Run("alerts", func(t *testing.T) {
		t.Parallel()
		scopedtest.Failures(t, build, notification.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
			c := newClient(t, url, timeout)
			return func(ctx context.Context, tid, pid string) error {
				_, err := c.Alerts(ctx, tid, pid, notification.StatusAll)
				return err
			}
		})
	})
	t.Run("summary", func(t *testing.T) {
		t.Parallel()
		scopedtest.Failures(t, build, notification.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
			c := newClient(t, url, timeout)
			return func(ctx context.Context, tid, pid string) error { _, err := c.Summary(ctx, tid, pid); return err }
		})
	})
}
