package aiorchestrator_test

// The BFF's ai-orchestrator-service client (shared/upstream/aiorchestrator)
// against this fake over real HTTP; here because shared must not import
// infra.

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

func build(ops *demo.Ops) *scoped.Service { return fake.New(ops).Service }

func newClient(t testing.TB, url string, timeout time.Duration) *aiorchestrator.Client {
	t.Helper()
	c, err := aiorchestrator.NewClient(aiorchestrator.Config{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientDecodesSuggestions(t *testing.T) {
	t.Parallel()
	r := scopedtest.Start(t, build)
	c := newClient(t, r.URL, 2*time.Second)
	ctx := context.Background()
	for _, tn := range r.DS.Tenants {
		for _, p := range tn.Properties {
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				sn := r.Snapshot(t, tn.ID, p.ID)
				open, err := c.Suggestions(ctx, tn.ID, p.ID, "")
				if err != nil {
					t.Fatal(err)
				}
				scopedtest.SameJSON(t, "Suggestions(open)", sn.Suggestions(false).Items, open)
				all, err := c.Suggestions(ctx, tn.ID, p.ID, aiorchestrator.StatusAll)
				if err != nil {
					t.Fatal(err)
				}
				scopedtest.SameJSON(t, "Suggestions(all)", sn.Suggestions(true).Items, all)
				if len(all) <= len(open) {
					t.Errorf("all (%d) should add closed suggestions to open (%d)", len(all), len(open))
				}
				sum, err := c.Summary(ctx, tn.ID, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := aiorchestrator.Summary{Open: len(open)}
				soon := false
				for _, s := range open {
					if s.Severity == aiorchestrator.SeverityActionRequired {
						want.ActionRequired++
					}
					if s.PropertyID != p.ID || !s.Category.Valid() || !s.ExpiresAt.After(scopedtest.Fixed) {
						t.Errorf("open suggestion %+v", s)
					}
					soon = soon || s.ExpiresAt.Sub(scopedtest.Fixed) < 30*time.Minute
				}
				if sum != want {
					t.Errorf("summary %+v, list says %+v", sum, want)
				}
				shown := aiorchestrator.Displayable(open)
				if len(shown) == 0 || len(shown) == len(open) {
					t.Errorf("%d of %d open suggestions have provenance; want a mix", len(shown), len(open))
				}
				if !soon {
					t.Error("no open suggestion expires within 30 minutes")
				}
			})
		}
	}
	if _, err := c.Suggestions(ctx, r.DS.Tenants[0].ID, r.DS.Tenants[0].Properties[0].ID, "closed"); scopedtest.CodeOf(err) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Errorf("status=closed: %v, want VALIDATION_FAILED", err)
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	t.Run("suggestions", func(t *testing.T) {
		t.Parallel()
		scopedtest.Failures(t, build, aiorchestrator.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
			c := newClient(t, url, timeout)
			return func(ctx context.Context, tid, pid string) error {
				_, err := c.Suggestions(ctx, tid, pid, aiorchestrator.StatusOpen)
				return err
			}
		})
	})
	t.Run("summary", func(t *testing.T) {
		t.Parallel()
		scopedtest.Failures(t, build, aiorchestrator.Service, func(t testing.TB, url string, timeout time.Duration) scopedtest.Call {
			c := newClient(t, url, timeout)
			return func(ctx context.Context, tid, pid string) error { _, err := c.Summary(ctx, tid, pid); return err }
		})
	})
}
