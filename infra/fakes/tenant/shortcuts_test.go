package tenant_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// The shortcuts client against the fake: documents never written are {}
// at version 1 with a stable id, the global and each property's documents
// are versioned apart, a stale expectedVersion is ErrVersionConflict, and
// of concurrent writers with one version exactly one wins.
func TestClientShortcuts(t *testing.T) {
	r := newClientRig(t, 2*time.Second)
	ctx := context.Background()
	tn := r.ds.Tenants[0]
	op := tn.Operators[0]
	prop := tn.Properties[0].ID

	g, err := r.client.OperatorShortcuts(ctx, tn.ID, op.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if g.Version != 1 || len(g.Overrides) != 0 || g.PropertyID != "" || !ids.Valid(ids.ShortcutMap, g.ID) {
		t.Fatalf("never written: %+v", g)
	}
	again, err := r.client.OperatorShortcuts(ctx, tn.ID, op.ID, "")
	if err != nil || again.ID != g.ID {
		t.Fatalf("the id of a never-written document moved: %s then %s (%v)", g.ID, again.ID, err)
	}
	put, err := r.client.PutShortcuts(ctx, tn.ID, op.ID, "", 1, map[string]string{"search.open": "Ctrl+Shift+P"})
	if err != nil || put.Version != 2 || put.Overrides["search.open"] != "Ctrl+Shift+P" || put.ID != g.ID {
		t.Fatalf("PUT: %+v %v", put, err)
	}
	if _, err := r.client.PutShortcuts(ctx, tn.ID, op.ID, "", 1, map[string]string{}); !errors.Is(err, tenant.ErrVersionConflict) {
		t.Fatalf("stale PUT: %v", err)
	}
	p, err := r.client.OperatorShortcuts(ctx, tn.ID, op.ID, prop)
	if err != nil || p.Version != 1 || p.PropertyID != prop || p.ID == g.ID {
		t.Fatalf("property document: %+v %v", p, err)
	}
	if got := r.fake.Shortcuts(tn.ID, op.ID, ""); got.Version != 2 {
		t.Fatalf("fake holds v%d", got.Version)
	}

	// A property of another tenant is not found; malformed ids are
	// refused before any call.
	other := r.ds.Tenants[1].Properties[0].ID
	if _, err := r.client.OperatorShortcuts(ctx, tn.ID, op.ID, other); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("another tenant's property: %v", err)
	}
	if _, err := r.client.OperatorShortcuts(ctx, tn.ID, op.ID, "prp_x"); codeOf(err) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("malformed property: %v", err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range 20 {
		wg.Go(func() {
			_, err := r.client.PutShortcuts(ctx, tn.ID, op.ID, prop, 1, map[string]string{"folio.open": "Alt+B"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, tenant.ErrVersionConflict):
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 19 {
		t.Fatalf("wins %d conflicts %d", wins, conflicts)
	}
}

// The fake refuses a body without overrides and other methods.
func TestShortcutsEndpointRefusals(t *testing.T) {
	_, srv, ds := newFake(t)
	tn := ds.Tenants[0]
	u := srv.URL + "/v1/tenants/" + tn.ID + "/operators/" + tn.Operators[0].ID + "/shortcuts"
	for _, c := range []struct {
		method, body string
		want         int
	}{
		{"PUT", `{"expectedVersion":1}`, 400},
		{"PUT", `{"expectedVersion":1,"overrides":[]}`, 400},
		{"DELETE", ``, 405},
		{"PUT", `{"expectedVersion":1,"overrides":{}}`, 200},
	} {
		req, _ := http.NewRequest(c.method, u, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.body, resp.StatusCode, c.want)
		}
	}
}
