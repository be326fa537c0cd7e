package inbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

// orchestrator stands in for ai-orchestrator-service's suggestion list: it
// lists what it holds per property, counts the calls and can be down.
type orchestrator struct {
	calls atomic.Int64
	down  atomic.Bool
	items map[string][]aiorchestrator.Suggestion // by property id
}

func (o *orchestrator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	if o.down.Load() {
		http.Error(w, `{"code":"UNAVAILABLE"}`, http.StatusServiceUnavailable)
		return
	}
	// /v1/tenants/{t}/properties/{p}/suggestions
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 6 || parts[5] != "suggestions" {
		http.NotFound(w, r)
		return
	}
	items := o.items[parts[4]]
	if items == nil {
		items = []aiorchestrator.Suggestion{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
}

func upstreamSuggestion(prop, title string) aiorchestrator.Suggestion {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return aiorchestrator.Suggestion{
		SuggestionID: "sug-" + testenv.Unique(), PropertyID: prop, Category: aiorchestrator.CategoryRateChange,
		Severity: aiorchestrator.SeverityAttention, CreatedAt: jsontime.Of(now.Add(-time.Minute)), ExpiresAt: jsontime.Of(now.Add(time.Hour)),
		Title: title, Provenance: &aiorchestrator.Provenance{Model: "m", ModelVersion: "1", PromptVersion: "p", ModelClass: "cloud", SignatureFingerprint: "f"},
	}
}

// The list reads through to ai-orchestrator-service when the property's
// mirror has not been loaded in the last 5 minutes, and only then; with
// the service down it serves what the mirror holds, and with nothing held
// it fails as unavailable.
func TestListReadsThroughAndServesTheMirrorWhenTheUpstreamIsDown(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	prop, empty := d.props[0], d.props[1]
	up := &orchestrator{items: map[string][]aiorchestrator.Suggestion{prop: {upstreamSuggestion(prop, "Raise the weekend rate")}}}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	ai, err := aiorchestrator.NewClient(aiorchestrator.Config{URL: srv.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d.deps.AI = ai
	s := inbox.NewSuggestions(d.deps)
	ctx := logtest.Context(context.Background(), t)
	rdb := d.deps.Redis
	marker := rdb.KeyNames().InboxLoaded("aiinbox", d.tenant, prop)
	mgr := manager(d.tenant, d.props...)
	list := func(p string) ([]inbox.SuggestionEntry, error) {
		l, _, err := s.Inbox(ctx, mgr, inbox.Query{PropertyID: p})
		return l.Items, err
	}
	titles := func(es []inbox.SuggestionEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Title)
		}
		return out
	}

	got, err := list(prop)
	if err != nil || len(got) != 1 || got[0].Title != "Raise the weekend rate" || up.calls.Load() != 1 {
		t.Fatalf("first list = %v, %v after %d upstream calls; want the upstream's suggestion after 1", titles(got), err, up.calls.Load())
	}
	ttl, err := rdb.PTTL(ctx, marker).Result()
	if err != nil || ttl > 5*time.Minute || ttl < 5*time.Minute-5*time.Second {
		t.Fatalf("loaded marker TTL = %s (%v), want 5 min", ttl, err)
	}
	// Loaded: the next lists come from the mirror alone.
	for range 3 {
		if got, err := list(prop); err != nil || len(got) != 1 {
			t.Fatalf("list from the mirror = %v, %v", titles(got), err)
		}
	}
	if n := up.calls.Load(); n != 1 {
		t.Fatalf("upstream calls = %d while the mirror was loaded, want 1", n)
	}

	// 5 minutes on, the marker has expired (Redis drops it at its TTL) and
	// the service is down: the mirror is served.
	up.down.Store(true)
	if err := rdb.Del(ctx, marker).Err(); err != nil {
		t.Fatal(err)
	}
	got, err = list(prop)
	if err != nil || len(got) != 1 || got[0].Title != "Raise the weekend rate" {
		t.Fatalf("list with the upstream down = %v, %v; want the mirrored suggestion", titles(got), err)
	}
	if n := up.calls.Load(); n < 2 {
		t.Fatalf("upstream calls = %d, want a read-through attempt once the marker expired", n)
	}
	// Nothing mirrored for the other property: unavailable, not empty.
	_, err = list(empty)
	if apperr.CodeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("list of a property never loaded, upstream down = %v, want %s", err, apperr.UpstreamUnavailable)
	}

	// Back up: the next list reads through again and sees what changed.
	up.down.Store(false)
	up.items[prop] = append(up.items[prop], upstreamSuggestion(prop, "Open the east wing"))
	got, err = list(prop)
	if err != nil || len(got) != 2 {
		t.Fatalf("list after recovery = %v, %v; want both suggestions", titles(got), err)
	}
}
