package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
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

// The rows the requests leave mean something: a partial dashboard is a
// partial row naming what was missing; a mutation the idempotency layer
// refused (no key; a key reused with another body) is a failure row; every
// row of a resolved session carries its session, its property and a
// contextHash.
func TestActivityRowsMeanSomething(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, mgr := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, mgr, 0, nil)
	if err := e.srv.Fleet.Fake("revenue").SetFault(fakes.Fault{Path: "*", Hang: true}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/v1/dashboard", tok, ""); r.StatusCode != 200 {
		t.Fatalf("dashboard = %d %s", r.StatusCode, r.body)
	}
	e.srv.Fleet.Fake("revenue").ClearFaults()
	path := "/v1/alerts/" + ids.New(ids.Alert) + "/ack"
	if a := e.post(path, tok, "", `{}`); a.status != 400 || a.code != "MELMASTOON.BFF.BACKOFFICE.IDEMPOTENCY_KEY_REQUIRED" {
		t.Fatalf("ack without a key = %d %s", a.status, a.body)
	}

	type row struct {
		Action, Outcome                 string
		Session, Property, Hash, Code   *string
		Message, ResourceKind, Resource *string
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows []row
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tn.ID); err != nil {
			return err
		}
		rs, err := tx.Query(ctx, `SELECT action, outcome, session_id, property_id, context_hash, error_code, error_message,
			resource_kind, resource_id FROM bff.operator_activity WHERE operator_id = $1 ORDER BY occurred_at, id`, mgr.ID)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.Action, &x.Outcome, &x.Session, &x.Property, &x.Hash, &x.Code, &x.Message, &x.ResourceKind, &x.Resource)
			return x, err
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	var dash, refused bool
	for _, r := range rows {
		if r.Session == nil || r.Property == nil || r.Hash == nil || len(*r.Hash) != 64 {
			t.Errorf("row %s: session %s, property %s, contextHash %s; want all set", r.Action, str(r.Session), str(r.Property), str(r.Hash))
		}
		switch r.Action {
		case "dashboard.viewed":
			dash = true
			if r.Outcome != "partial" || str(r.Code) != "MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE" || !strings.Contains(str(r.Message), "revenue=unavailable") {
				t.Errorf("dashboard row: %s %s %q, want partial naming revenue", r.Outcome, str(r.Code), str(r.Message))
			}
		case "mutation.refused":
			refused = true
			if r.Outcome != "failure" || str(r.Code) != "MELMASTOON.BFF.BACKOFFICE.IDEMPOTENCY_KEY_REQUIRED" || str(r.Resource) != "POST "+path {
				t.Errorf("refusal row: %s %s %s %s", r.Outcome, str(r.Code), str(r.ResourceKind), str(r.Resource))
			}
		}
	}
	if !dash || !refused {
		t.Fatalf("rows %+v: want a dashboard.viewed and a mutation.refused row", rows)
	}
}
