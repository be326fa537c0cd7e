package activity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func feed(t testing.TB, db *pg.DB) *activity.Feed {
	t.Helper()
	c, err := listcursor.New([]byte(strings.Repeat("k", listcursor.MinSecret)))
	if err != nil {
		t.Fatal(err)
	}
	return &activity.Feed{DB: db, Cursors: c}
}

// insertAll writes entries in batches through the app role.
func insertAll(t testing.TB, db *pg.DB, tenant string, es []activity.Entry) {
	t.Helper()
	for len(es) > 0 {
		n := min(len(es), 2000)
		err := db.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
			return activity.InsertTx(ctx, tx, es[:n]...)
		})
		if err != nil {
			t.Fatal(err)
		}
		es = es[n:]
	}
}

// readFeed pages through q as a until the end, at most maxPages pages.
func readFeed(t *testing.T, f *activity.Feed, a actor.Actor, q activity.FeedQuery, maxPages int) []activity.Row {
	t.Helper()
	var out []activity.Row
	for range maxPages {
		p, note, err := f.List(context.Background(), a, q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		if note.Action != activity.ActionActivityViewed || note.Category != activity.CategoryView {
			t.Fatalf("note = %+v", note)
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out
		}
		q.Cursor = p.NextCursor
	}
	t.Fatalf("more than %d pages", maxPages)
	return nil
}

type feedWorld struct {
	tenant         string
	propA, propB   string
	fd, mgr, other actor.Actor
}

func newFeedWorld() feedWorld {
	w := feedWorld{tenant: ids.New(ids.Tenant), propA: ids.New(ids.Property), propB: ids.New(ids.Property)}
	mk := func(roles ...string) actor.Actor {
		return actor.Actor{TenantID: w.tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
			SessionID: ids.New(ids.Session), Roles: roles, PropertyScope: []string{w.propA}}
	}
	w.fd, w.mgr, w.other = mk("front_desk"), mk("manager"), mk("front_desk")
	return w
}

func (w feedWorld) row(a actor.Actor, prop string, at time.Time, cat activity.Category) activity.Entry {
	return activity.Entry{TenantID: w.tenant, PropertyID: prop, OperatorID: a.OperatorID, DeviceID: a.DeviceID,
		SessionID: a.SessionID, OccurredAt: at, Category: cat, Action: "dashboard.viewed",
		Outcome: activity.OutcomeSuccess, RequestID: "req-1"}
}

// feedOf writes es, rows of w's tenant, into a fresh database and returns
// a feed that reads it.
func (w feedWorld) feedOf(t *testing.T, es []activity.Entry) *activity.Feed {
	t.Helper()
	db, _ := testenv.Postgres(t)
	insertAll(t, db, w.tenant, es)
	return feed(t, db)
}

// 10,000 rows, many sharing a millisecond (ties broken by id), come back
// newest first, each exactly once, across pages of the largest size.
func TestFeedPagesEveryRowOnce(t *testing.T) {
	t.Parallel()
	w := newFeedWorld()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var es []activity.Entry
	for i := range 10000 {
		who := w.fd
		if i%3 == 0 {
			who = w.other
		}
		prop := w.propA
		if i%10 == 0 {
			prop = "" // a sign-in: no property, shown when no property is asked for
		}
		es = append(es, w.row(who, prop, base.Add(time.Duration(i/4)*time.Millisecond), activity.CategoryView))
	}
	f := w.feedOf(t, es)
	got := readFeed(t, f, w.mgr, activity.FeedQuery{Limit: "200"}, 60)
	if len(got) != len(es) {
		t.Fatalf("paged %d rows, want %d", len(got), len(es))
	}
	seen := map[string]bool{}
	for i, r := range got {
		if seen[r.ID] {
			t.Fatalf("row %s twice", r.ID)
		}
		seen[r.ID] = true
		if i > 0 {
			p := got[i-1]
			if p.OccurredAt.Before(r.OccurredAt.Time) || (p.OccurredAt.Equal(r.OccurredAt.Time) && p.ID < r.ID) {
				t.Fatalf("row %d (%s %s) is newer than row %d (%s %s)", i, r.OccurredAt, r.ID, i-1, p.OccurredAt, p.ID)
			}
		}
	}
	// The front-desk operator's own feed: only their rows, all of them.
	own := readFeed(t, f, w.fd, activity.FeedQuery{OperatorID: w.fd.OperatorID}, 200)
	want := 0
	for _, e := range es {
		if e.OperatorID == w.fd.OperatorID {
			want++
		}
	}
	if len(own) != want {
		t.Fatalf("own feed: %d rows, want %d", len(own), want)
	}
	for _, r := range own {
		if r.OperatorID != w.fd.OperatorID {
			t.Fatalf("own feed holds %s's row", r.OperatorID)
		}
	}
}

func TestFeedFiltersAndShape(t *testing.T) {
	t.Parallel()
	w := newFeedWorld()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	lock := w.row(w.fd, w.propA, t0.Add(2*time.Second), activity.CategoryLockAction)
	lock.Action, lock.Resource, lock.Outcome = "lock.revoke", &activity.Ref{Kind: "reservation", ID: "rsv_1"}, activity.OutcomePartial
	lock.Error = &activity.ErrorInfo{Code: "MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE", Message: "lock"}
	lock.ContextHash = strings.Repeat("ab", 32)
	es := []activity.Entry{
		w.row(w.fd, w.propA, t0, activity.CategoryView),
		w.row(w.fd, "", t0.Add(time.Second), activity.CategoryAuth),
		lock,
		w.row(w.other, w.propB, t0.Add(3*time.Second), activity.CategoryView), // out of everyone's scope here
		w.row(w.mgr, w.propA, t0.Add(4*time.Second), activity.CategoryView),
	}
	f := w.feedOf(t, es)
	actions := func(rows []activity.Row) string {
		var s []string
		for _, r := range rows {
			s = append(s, r.Action+"@"+r.OccurredAt.Format("05"))
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		name string
		q    activity.FeedQuery
		want string
	}{
		{"all in scope, and rows of no property", activity.FeedQuery{}, "dashboard.viewed@04 lock.revoke@02 dashboard.viewed@01 dashboard.viewed@00"},
		{"property", activity.FeedQuery{PropertyID: w.propA}, "dashboard.viewed@04 lock.revoke@02 dashboard.viewed@00"},
		{"category", activity.FeedQuery{Category: "lock_action"}, "lock.revoke@02"},
		{"operator", activity.FeedQuery{OperatorID: w.fd.OperatorID}, "lock.revoke@02 dashboard.viewed@01 dashboard.viewed@00"},
		{"from inclusive, to exclusive", activity.FeedQuery{From: t0.Add(time.Second).Format(time.RFC3339), To: t0.Add(4 * time.Second).Format(time.RFC3339)}, "lock.revoke@02 dashboard.viewed@01"},
	} {
		p, _, err := f.List(context.Background(), w.mgr, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := actions(p.Items); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	p, _, err := f.List(context.Background(), w.mgr, activity.FeedQuery{Category: "lock_action"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	want := fmt.Sprintf(`{"items":[{"id":%q,"tenantId":%q,"propertyId":%q,"operatorId":%q,"deviceId":%q,"sessionId":%q,`+
		`"occurredAt":"2026-11-01T12:00:02.000Z","category":"lock_action","action":"lock.revoke","resourceRef":{"kind":"reservation","id":"rsv_1"},`+
		`"outcome":"partial","latencyMs":0,"error":{"code":"MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE","message":"lock"},"contextHash":%q}]}`,
		p.Items[0].ID, w.tenant, w.propA, w.fd.OperatorID, w.fd.DeviceID, w.fd.SessionID, lock.ContextHash)
	if string(b) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", b, want)
	}
}

// The role rule, checks in order (property, then well-formedness, then
// role), and cursors that do not belong.
func TestFeedRefusals(t *testing.T) {
	t.Parallel()
	w := newFeedWorld()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var es []activity.Entry
	for i := range 5 {
		es = append(es, w.row(w.fd, w.propA, t0.Add(time.Duration(i)*time.Second), activity.CategoryView))
	}
	f := w.feedOf(t, es)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		a    actor.Actor
		q    activity.FeedQuery
		want apperr.Code
	}{
		{"front desk, own rows", w.fd, activity.FeedQuery{OperatorID: w.fd.OperatorID}, ""},
		{"front desk, no filter", w.fd, activity.FeedQuery{}, apperr.ForbiddenRole},
		{"front desk, another operator", w.fd, activity.FeedQuery{OperatorID: w.other.OperatorID}, apperr.ForbiddenRole},
		{"front desk, other property", w.fd, activity.FeedQuery{OperatorID: w.fd.OperatorID, PropertyID: w.propB}, apperr.PropertyOutOfScope},
		{"front desk, no filter, other property", w.fd, activity.FeedQuery{PropertyID: w.propB}, apperr.PropertyOutOfScope},
		{"manager, another operator", w.mgr, activity.FeedQuery{OperatorID: w.fd.OperatorID}, ""},
		{"malformed property", w.mgr, activity.FeedQuery{PropertyID: "prp_nope"}, apperr.ValidationFailed},
		{"malformed operator", w.mgr, activity.FeedQuery{OperatorID: "x"}, apperr.ValidationFailed},
		{"unknown category", w.mgr, activity.FeedQuery{Category: "gossip"}, apperr.ValidationFailed},
		{"bad from", w.mgr, activity.FeedQuery{From: "yesterday"}, apperr.ValidationFailed},
		{"to before from", w.mgr, activity.FeedQuery{From: "2026-11-02T00:00:00Z", To: "2026-11-01T00:00:00Z"}, apperr.ValidationFailed},
		{"limit 0", w.mgr, activity.FeedQuery{Limit: "0"}, apperr.ValidationFailed},
		{"limit 201", w.mgr, activity.FeedQuery{Limit: "201"}, apperr.ValidationFailed},
		{"garbage cursor", w.mgr, activity.FeedQuery{Cursor: "abc"}, apperr.ValidationFailed},
	} {
		_, _, err := f.List(ctx, tc.a, tc.q)
		if got := apperr.CodeOf(err); got != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}

	p, _, err := f.List(ctx, w.mgr, activity.FeedQuery{Limit: "2"})
	if err != nil || p.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, p.NextCursor)
	}
	// One bit flipped anywhere in the cursor.
	raw := []byte(p.NextCursor)
	for i := range raw {
		tampered := []byte(p.NextCursor)
		tampered[i] ^= 1
		if _, _, err := f.List(ctx, w.mgr, activity.FeedQuery{Limit: "2", Cursor: string(tampered)}); apperr.CodeOf(err) != apperr.ValidationFailed {
			t.Fatalf("cursor altered at %d: %v, want 400", i, err)
		}
	}
	// The same cursor with other filters, by another tenant, or after the
	// scope changed.
	other := w.mgr
	other.TenantID = ids.New(ids.Tenant)
	rescoped := w.mgr
	rescoped.PropertyScope = []string{w.propA, w.propB}
	for _, tc := range []struct {
		name string
		a    actor.Actor
		q    activity.FeedQuery
	}{
		{"category added", w.mgr, activity.FeedQuery{Limit: "2", Category: "view"}},
		{"operator added", w.mgr, activity.FeedQuery{Limit: "2", OperatorID: w.fd.OperatorID}},
		{"property added", w.mgr, activity.FeedQuery{Limit: "2", PropertyID: w.propA}},
		{"from added", w.mgr, activity.FeedQuery{Limit: "2", From: "2026-01-01T00:00:00Z"}},
		{"another tenant", other, activity.FeedQuery{Limit: "2"}},
		{"another scope", rescoped, activity.FeedQuery{Limit: "2"}},
	} {
		tc.q.Cursor = p.NextCursor
		if _, _, err := f.List(ctx, tc.a, tc.q); apperr.CodeOf(err) != apperr.ValidationFailed {
			t.Errorf("cursor replayed with %s: %v, want 400", tc.name, err)
		}
	}
	// A changed limit is not a filter: the cursor still reads on.
	if _, _, err := f.List(ctx, w.mgr, activity.FeedQuery{Limit: "3", Cursor: p.NextCursor}); err != nil {
		t.Errorf("cursor with another limit: %v", err)
	}
}
