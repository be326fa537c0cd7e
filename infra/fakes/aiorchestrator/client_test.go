package aiorchestrator_test

// The BFF's ai-orchestrator-service client (shared/upstream/aiorchestrator)
// against this fake over real HTTP; here because shared must not import
// infra.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
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

// The fake refuses what the service refuses: a decision on a suggestion it
// does not know (a made-up id, another property's or tenant's suggestion)
// or on one past its expiresAt; a repeat of the recorded decision stays a
// 200 after expiry.
func TestClientDecisionRefusals(t *testing.T) {
	t.Parallel()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := scopedtest.Fixed
	ops := demo.NewOps(ds, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	svc := fake.New(ops)
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() { svc.Fake().Close(); srv.Close() })
	c := newClient(t, srv.URL, 2*time.Second)
	ctx := context.Background()

	tn := ds.Tenants[0]
	p, other := tn.Properties[0].ID, tn.Properties[1].ID
	sn, err := ops.Snapshot(tn.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	open := sn.Suggestions(false).Items
	sg := open[0]
	for _, s := range open {
		if s.ExpiresAt.Before(sg.ExpiresAt.Time) {
			sg = s
		}
	}
	decision := func(id string) aiorchestrator.Decision {
		return aiorchestrator.Decision{DecisionID: id, Outcome: aiorchestrator.OutcomeAccepted, DecidedBy: tn.Operators[0].ID, DecidedAt: jsontime.Of(now), DecidedDeviceID: tn.Operators[0].Devices[0].ID}
	}

	refused := []struct {
		name             string
		tenant, property string
		suggestion       string
	}{
		{"made-up id", tn.ID, p, "sug_01NOTAREALSUGGESTION0000"},
		{"another property's suggestion", tn.ID, other, sg.SuggestionID},
		{"another tenant's suggestion", ds.Tenants[1].ID, ds.Tenants[1].Properties[0].ID, sg.SuggestionID},
	}
	for _, tc := range refused {
		if err := c.RecordDecision(ctx, tc.tenant, tc.property, tc.suggestion, decision("aim_refused")); !errors.Is(err, aiorchestrator.ErrNotFound) {
			t.Errorf("%s: %v, want not found", tc.name, err)
		}
	}

	if err := c.RecordDecision(ctx, tn.ID, p, sg.SuggestionID, decision("aim_1")); err != nil {
		t.Fatalf("decision on a listed open suggestion: %v", err)
	}
	// Past the suggestion's expiry: the recorded decision's repeat is still
	// acknowledged; a decision on another expired suggestion is refused.
	mu.Lock()
	now = sg.ExpiresAt.Add(time.Second)
	mu.Unlock()
	if err := c.RecordDecision(ctx, tn.ID, p, sg.SuggestionID, decision("aim_1")); err != nil {
		t.Fatalf("the same decision again after expiry: %v", err)
	}
	gone := open[0]
	for _, s := range open {
		if s.SuggestionID != sg.SuggestionID {
			gone = s
			break
		}
	}
	mu.Lock()
	now = gone.ExpiresAt.Add(time.Second)
	mu.Unlock()
	status := post(t, srv.URL+"/v1/tenants/"+tn.ID+"/properties/"+p+"/suggestions/"+gone.SuggestionID+"/decisions", decision("aim_2"))
	if status != http.StatusGone {
		t.Fatalf("decision on an expired suggestion = %d, want 410", status)
	}
	if _, ok := svc.Decision(tn.ID, p, gone.SuggestionID); ok {
		t.Fatal("an expired suggestion took a decision")
	}

	// One announced by event only is known once announced.
	const announced = "sug-announced-by-event"
	if err := c.RecordDecision(ctx, tn.ID, p, announced, decision("aim_3")); !errors.Is(err, aiorchestrator.ErrNotFound) {
		t.Fatalf("before Know: %v, want not found", err)
	}
	svc.Know(tn.ID, p, announced, now.Add(time.Hour))
	if err := c.RecordDecision(ctx, tn.ID, p, announced, decision("aim_3")); err != nil {
		t.Fatalf("after Know: %v", err)
	}
}

func post(t *testing.T, url string, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}
