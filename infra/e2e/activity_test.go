package e2e

import (
	"net/url"
	"testing"
)

// GET /v1/activity through the whole stack: a front-desk operator reads
// its own rows (the ones its requests just wrote) and nobody else's; a
// manager reads everyone's; paging holds each row once; a cursor altered
// or replayed with other filters is 400.
func TestActivityFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, fd := e.operator(0, hasRole("front_desk"))
	_, mgr := e.operator(0, hasRole("manager"))
	fdTok, mgrTok := e.mint(tn, fd, 0, nil), e.mint(tn, mgr, 0, nil)
	for range 3 {
		if r := e.do("GET", "/v1/session", fdTok, ""); r.StatusCode != 200 {
			t.Fatalf("session: %d %s", r.StatusCode, r.body)
		}
		if r := e.do("GET", "/v1/session", mgrTok, ""); r.StatusCode != 200 {
			t.Fatalf("session: %d %s", r.StatusCode, r.body)
		}
	}
	type page struct {
		Items []struct {
			ID, OperatorID, Action, Category, Outcome, SessionID string
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
	}
	get := func(tok, q string, want int) page {
		t.Helper()
		r := e.do("GET", "/v1/activity?"+q, tok, "")
		if r.StatusCode != want {
			t.Fatalf("GET /v1/activity?%s = %d %s, want %d", q, r.StatusCode, r.body, want)
		}
		var p page
		if want == 200 {
			r.json(t, &p)
		}
		return p
	}
	// The ledger's group commit returns before the answer is written, so
	// the rows of the requests above are in by now.
	own := get(fdTok, "operatorId="+fd.ID+"&limit=200", 200)
	if len(own.Items) < 3 {
		t.Fatalf("own feed: %d rows, want at least the 3 session reads", len(own.Items))
	}
	for _, it := range own.Items {
		if it.OperatorID != fd.ID {
			t.Fatalf("the front desk sees %s's row", it.OperatorID)
		}
		if it.SessionID == "" {
			t.Errorf("row %s (%s) has no session", it.ID, it.Action)
		}
	}
	get(fdTok, "", 403)
	get(fdTok, "operatorId="+mgr.ID, 403)
	all := get(mgrTok, "limit=200", 200)
	seen := map[string]bool{}
	for _, it := range all.Items {
		seen[it.OperatorID] = true
	}
	if !seen[fd.ID] || !seen[mgr.ID] {
		t.Fatalf("the manager's feed misses an operator: %v", seen)
	}
	// Paging: limit 2 from the manager's view, each row once, same order.
	var paged []string
	q := "limit=2"
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("too many pages")
		}
		p := get(mgrTok, q, 200)
		for _, it := range p.Items {
			paged = append(paged, it.ID)
		}
		if p.NextCursor == "" {
			break
		}
		if pages == 0 {
			get(mgrTok, "limit=2&category=view&cursor="+url.QueryEscape(p.NextCursor), 400)
			get(mgrTok, "limit=2&cursor="+url.QueryEscape(p.NextCursor[:len(p.NextCursor)-2]+"AA"), 400)
		}
		q = "limit=2&cursor=" + url.QueryEscape(p.NextCursor)
	}
	// Later requests (the paging itself) add rows at the head, never
	// inside what was already paged: the first len(all) paged rows, after
	// the newer ones, are all's rows in order.
	idx := map[string]int{}
	for i, id := range paged {
		if _, dup := idx[id]; dup {
			t.Fatalf("row %s paged twice", id)
		}
		idx[id] = i
	}
	for _, it := range all.Items {
		if _, ok := idx[it.ID]; !ok {
			t.Fatalf("row %s of the whole list was never paged", it.ID)
		}
	}
}
