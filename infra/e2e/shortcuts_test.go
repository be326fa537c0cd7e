package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

type shortcutMap struct {
	ID         string            `json:"id"`
	PropertyID string            `json:"propertyId"`
	Version    int64             `json:"version"`
	Defaults   map[string]string `json:"defaults"`
	Overrides  map[string]string `json:"overrides"`
	Effective  map[string]string `json:"effective"`
}

// /v1/shortcuts through the dev server against the tenant fake: the
// defaults at version 1; no If-Match is 428; a clash is 400 with errors[];
// 20 concurrent PUTs with one If-Match give one 200 and nineteen 412, and
// the mirror ends equal to tenant-service's copy; a property's overrides
// lie over the global ones; every write leaves a preferences_changed row.
func TestShortcuts(t *testing.T) {
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, op, 0, nil)

	r := e.do("GET", "/v1/shortcuts", tok, "")
	var m shortcutMap
	r.json(t, &m)
	if r.StatusCode != 200 || r.Header.Get("ETag") != `"1"` || m.Version != 1 || len(m.Overrides) != 0 ||
		m.Effective["command_palette.open"] != "Ctrl+K" || len(m.Effective) != len(m.Defaults) {
		t.Fatalf("GET: %d %s ETag %q", r.StatusCode, r.body, r.Header.Get("ETag"))
	}
	if r := e.do("PUT", "/v1/shortcuts", tok, `{"overrides":{}}`); r.StatusCode != 428 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.PRECONDITION_REQUIRED" {
		t.Fatalf("PUT without If-Match: %d %s", r.StatusCode, r.body)
	}
	r = e.do("PUT", "/v1/shortcuts", tok, `{"overrides":{"search.open":"Ctrl+K"}}`, "If-Match", `"1"`)
	if r.StatusCode != 400 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("clashing PUT: %d %s", r.StatusCode, r.body)
	}
	var clash struct {
		Errors []struct{ Field, Message string } `json:"errors"`
	}
	r.json(t, &clash)
	if len(clash.Errors) != 1 || clash.Errors[0].Field != "overrides.search.open" || !strings.Contains(clash.Errors[0].Message, "command_palette.open") {
		t.Fatalf("clash errors[] = %+v", clash.Errors)
	}

	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			res := e.do("PUT", "/v1/shortcuts", tok, fmt.Sprintf(`{"overrides":{"search.open":"Alt+%d"}}`, i%10), "If-Match", `"1"`)
			codes[i] = res.StatusCode
			if res.StatusCode == 412 && res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VERSION_CONFLICT" {
				t.Errorf("412 %s", res.body)
			}
		})
	}
	wg.Wait()
	n200, n412 := 0, 0
	for _, c := range codes {
		switch c {
		case 200:
			n200++
		case 412:
			n412++
		}
	}
	if n200 != 1 || n412 != 19 {
		t.Fatalf("answers %v: want one 200 and nineteen 412", codes)
	}
	r = e.do("GET", "/v1/shortcuts", tok, "")
	r.json(t, &m)
	want := e.srv.Tenant.Shortcuts(tn.ID, op.ID, "")
	if m.Version != 2 || want.Version != 2 || r.Header.Get("ETag") != `"2"` || m.ID != want.ID ||
		m.Overrides["search.open"] != want.Overrides["search.open"] || m.Effective["search.open"] != want.Overrides["search.open"] {
		t.Fatalf("mirror v%d %v, tenant-service v%d %v", m.Version, m.Overrides, want.Version, want.Overrides)
	}
	global := m.Overrides["search.open"]

	// One property's overrides, laid over the global ones.
	prop := op.PropertyScope[0]
	r = e.do("PUT", "/v1/shortcuts?propertyId="+prop, tok, `{"overrides":{"folio.open":"alt+shift+b"}}`, "If-Match", `"1"`)
	var pm shortcutMap
	r.json(t, &pm)
	if r.StatusCode != 200 || pm.PropertyID != prop || pm.Version != 2 || pm.Overrides["folio.open"] != "Alt+Shift+B" ||
		pm.Effective["folio.open"] != "Alt+Shift+B" || pm.Effective["search.open"] != global {
		t.Fatalf("property PUT: %d %s", r.StatusCode, r.body)
	}
	if got := e.srv.Tenant.Shortcuts(tn.ID, op.ID, prop); got.Version != 2 || got.Overrides["folio.open"] != "Alt+Shift+B" {
		t.Fatalf("tenant-service's property document: %+v", got)
	}
	r = e.do("GET", "/v1/shortcuts", tok, "")
	r.json(t, &m)
	if m.Effective["folio.open"] != "Ctrl+Shift+B" {
		t.Fatalf("the global map took a property's override: %s", r.body)
	}

	changed := map[string]int{}
	for _, a := range e.activity(tn.ID) {
		if a.Action == "shortcuts.changed" {
			if a.Category != "preferences_changed" {
				t.Fatalf("row %+v", a)
			}
			changed[a.Outcome]++
		}
	}
	// 2 successes; the 428, the 400 and nineteen 412 are failures.
	if changed["success"] != 2 || changed["failure"] != 21 {
		t.Fatalf("shortcuts.changed rows by outcome: %v", changed)
	}
}
