package e2e

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

const prefsBody = `{"layout":{"density":"compact","columnsByPage":{"arrivals":["guest","room"]}},"notifications":{"sound":false,"popup":true,"aiBadge":true},"i18n":{"locale":"de-DE","firstDayOfWeek":"mon"},"appearance":{"theme":"%s"}}`

// 20 concurrent PUT /v1/preferences with the same If-Match: exactly one
// 200, the rest 412 naming the current version; the mirror (GET) ends
// equal to tenant-service's copy; no If-Match is 428.
func TestPreferencesConcurrentPuts(t *testing.T) {
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, op, 0, nil)
	r := e.do("GET", "/v1/preferences", tok, "")
	if r.StatusCode != 200 || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("GET: %d %s ETag %q", r.StatusCode, r.body, r.Header.Get("ETag"))
	}
	if r := e.do("PUT", "/v1/preferences", tok, fmt.Sprintf(prefsBody, "dark")); r.StatusCode != 428 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.PRECONDITION_REQUIRED" {
		t.Fatalf("PUT without If-Match: %d %s", r.StatusCode, r.body)
	}
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			res := e.do("PUT", "/v1/preferences", tok, fmt.Sprintf(prefsBody, []string{"dark", "light"}[i%2]), "If-Match", `"1"`)
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
	var got struct {
		Version    int64 `json:"version"`
		Appearance struct {
			Theme string `json:"theme"`
		} `json:"appearance"`
	}
	r = e.do("GET", "/v1/preferences", tok, "")
	r.json(t, &got)
	want := e.srv.Tenant.Preferences(tn.ID, op.ID)
	var wantApp struct {
		Theme string `json:"theme"`
	}
	if err := json.Unmarshal(want.Appearance, &wantApp); err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || want.Version != 2 || got.Appearance.Theme != wantApp.Theme || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("mirror v%d %s, tenant-service v%d %s", got.Version, got.Appearance.Theme, want.Version, wantApp.Theme)
	}
}
