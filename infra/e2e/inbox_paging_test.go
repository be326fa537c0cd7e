package e2e

import (
	"net/url"
	"slices"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/inbox"
)

// TestInboxRoleMatrix: a housekeeping lead's inboxes hold only what the
// role matrix gives the role (no rate changes, overbooking warnings,
// guest handling or categories the matrix does not name; no alerts at all),
// and deciding a rate change or acknowledging an alert it cannot see is 403
// FORBIDDEN_ROLE with nothing recorded or forwarded.
func TestInboxRoleMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, mgr := e.operator(0, hasRole("manager"))
	_, lead := e.operator(0, hasRole("housekeeping_lead"))
	prop := lead.PropertyScope[0]
	mgrTok, leadTok := e.mint(tn, mgr, 0, nil), e.mint(tn, lead, 0, nil)

	var all suggestionList
	e.do("GET", "/v1/ai/suggestions?status=all&limit=200&propertyId="+prop, mgrTok, "").json(t, &all)
	var rate inbox.SuggestionEntry
	cats := map[string]bool{}
	for _, it := range all.Items {
		cats[string(it.Category)] = true
		if it.Category == "rate_change" && rate.ID == "" {
			rate = it
		}
	}
	if rate.ID == "" || !cats["housekeeping_reorder"] || len(cats) < 3 {
		t.Fatalf("the demo inbox needs a rate change, a housekeeping reorder and other categories: %v", cats)
	}

	r := e.do("GET", "/v1/ai/suggestions?status=all&limit=200&propertyId="+prop, leadTok, "")
	if r.StatusCode != 200 {
		t.Fatalf("lead's list = %d %s", r.StatusCode, r.body)
	}
	var mine suggestionList
	r.json(t, &mine)
	if len(mine.Items) == 0 {
		t.Fatalf("the housekeeping lead sees no housekeeping suggestion: %s", r.body)
	}
	for _, it := range mine.Items {
		if it.Category != "housekeeping_reorder" {
			t.Errorf("housekeeping lead listed a %s suggestion: %q", it.Category, it.Title)
		}
	}
	var alerts alertList
	e.do("GET", "/v1/alerts?status=all&propertyId="+prop, leadTok, "").json(t, &alerts)
	if len(alerts.Items) != 0 {
		t.Errorf("housekeeping lead listed %d alerts, want none (no alert category is theirs)", len(alerts.Items))
	}

	a := e.post("/v1/ai/suggestions/"+rate.ID+"/decision", leadTok, "hk-rate-1", `{"outcome":"accepted"}`)
	if a.err != nil || a.status != 403 || a.code != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("lead deciding a rate change = %d %s (%v), want 403 FORBIDDEN_ROLE", a.status, a.body, a.err)
	}
	var mgrAlerts alertList
	e.do("GET", "/v1/alerts?status=all&propertyId="+prop, mgrTok, "").json(t, &mgrAlerts)
	if len(mgrAlerts.Items) == 0 {
		t.Fatal("the demo has no alert")
	}
	a = e.post("/v1/alerts/"+mgrAlerts.Items[0].ID+"/ack", leadTok, "hk-ack-1", "")
	if a.err != nil || a.status != 403 || a.code != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("lead acknowledging a %s alert = %d %s (%v), want 403 FORBIDDEN_ROLE", mgrAlerts.Items[0].Category, a.status, a.body, a.err)
	}
	if n := e.countRows(tn.ID, `SELECT count(*) FROM bff.ai_decision`); n != 0 {
		t.Errorf("%d decision rows after a refused decision", n)
	}
	if n := e.countRows(tn.ID, `SELECT count(*) FROM bff.alert_ack`); n != 0 {
		t.Errorf("%d ack rows after a refused ack", n)
	}
	if _, ok := e.srv.Fleet.AIOrchestrator.Decision(tn.ID, prop, rate.SuggestionID); ok {
		t.Error("a refused decision was forwarded to ai-orchestrator-service")
	}
}

// TestInboxPaging pages both inboxes two entries at a time through the
// dev server: the pages join up to the whole list exactly once, the last
// has no cursor, and a cursor altered or replayed under other filters, or
// a limit outside 1–200, is 400 (every answer checked against
// openapi.yaml).
func TestInboxPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, mgr := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, mgr, 0, nil)
	prop := mgr.PropertyScope[0]

	type page struct {
		ids  []string
		next string
	}
	get := func(path string) page {
		t.Helper()
		r := e.do("GET", path, tok, "")
		if r.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, r.StatusCode, r.body)
		}
		var p struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		r.json(t, &p)
		var out page
		for _, it := range p.Items {
			out.ids = append(out.ids, it.ID)
		}
		out.next = p.NextCursor
		return out
	}
	for _, list := range []string{"/v1/ai/suggestions", "/v1/alerts"} {
		base := list + "?status=all&propertyId=" + prop
		whole := get(base + "&limit=200")
		if whole.next != "" || len(whole.ids) < 4 {
			t.Fatalf("%s: %d entries, next %q; the test needs at least 4 on one page", list, len(whole.ids), whole.next)
		}
		var paged []string
		p := get(base + "&limit=2")
		first := p.next
		for pages := 1; ; pages++ {
			if len(p.ids) > 2 {
				t.Fatalf("%s: a page of limit 2 holds %d", list, len(p.ids))
			}
			paged = append(paged, p.ids...)
			if p.next == "" {
				break
			}
			if pages > len(whole.ids) {
				t.Fatalf("%s: still a cursor after %d pages", list, pages)
			}
			p = get(base + "&limit=2&cursor=" + url.QueryEscape(p.next))
		}
		if !slices.Equal(paged, whole.ids) {
			t.Fatalf("%s: paged %v, want %v", list, paged, whole.ids)
		}

		altered := []byte(first)
		altered[len(altered)/2] = map[bool]byte{true: 'B', false: 'A'}[altered[len(altered)/2] == 'A']
		for name, path := range map[string]string{
			"altered cursor":        base + "&limit=2&cursor=" + string(altered),
			"cursor of status=all":  list + "?status=open&propertyId=" + prop + "&cursor=" + first,
			"cursor of another one": list + "?status=all&propertyId=" + mgr.PropertyScope[1] + "&cursor=" + first,
			"limit 0":               base + "&limit=0",
			"limit 201":             base + "&limit=201",
		} {
			r := e.do("GET", path, tok, "")
			if r.StatusCode != 400 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
				t.Errorf("%s %s = %d %s, want 400 VALIDATION_FAILED", list, name, r.StatusCode, r.body)
			}
		}
	}
}
