package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
)

// reads records, while on, every Redis command the client sends and the
// size of its answer, so a test can show no list reads an unbounded set.
type reads struct {
	on   atomic.Bool
	mu   sync.Mutex
	cmds []string // "name size"
	bad  []string // commands that read a whole key
}

func (r *reads) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (r *reads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		r.record(cmd)
		return err
	}
}

func (r *reads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			r.record(c)
		}
		return err
	}
}

func (r *reads) record(c redis.Cmder) {
	if !r.on.Load() {
		return
	}
	size := 0
	switch v := c.(type) {
	case *redis.StringSliceCmd:
		size = len(v.Val())
	case *redis.SliceCmd:
		size = len(v.Val())
	case *redis.MapStringStringCmd:
		size = len(v.Val())
	}
	name := c.Name()
	args := strings.ToLower(fmt.Sprint(c.Args()...))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, fmt.Sprintf("%s %d", name, size))
	switch {
	case slices.Contains([]string{"hgetall", "hkeys", "hvals", "smembers", "keys", "scan", "zrangebyscore", "zrangebylex", "lrange", "xrange"}, name),
		name == "zrange" && !strings.Contains(args, "limit"):
		r.bad = append(r.bad, fmt.Sprint(c.Args()...))
	}
}

// largest is the largest answer recorded, and any command that read a
// whole key.
func (r *reads) largest() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.cmds {
		var name string
		var size int
		_, _ = fmt.Sscanf(c, "%s %d", &name, &size)
		n = max(n, size)
	}
	return n, slices.Clone(r.bad)
}

var provenance = &aiorchestrator.Provenance{Model: "m", ModelVersion: "1", PromptVersion: "p", ModelClass: "cloud", SignatureFingerprint: "f"}

// bulkSuggestions mirrors n suggestions of prop, the categories in turn,
// three per millisecond (so ties in time are broken by id), newest first
// by index; it returns the upstream ids by category.
func bulkSuggestions(t *testing.T, s *inbox.Suggestions, tenant, prop string, n int, categories []aiorchestrator.Category, now time.Time) map[aiorchestrator.Category][]string {
	t.Helper()
	base := now.Truncate(time.Millisecond).Add(-time.Minute)
	items := make([]aiorchestrator.Suggestion, n)
	byCat := map[aiorchestrator.Category][]string{}
	for i := range items {
		c := categories[i%len(categories)]
		items[i] = aiorchestrator.Suggestion{
			SuggestionID: fmt.Sprintf("sug-%05d", i), PropertyID: prop, Category: c, Severity: aiorchestrator.SeverityInfo,
			CreatedAt: jsontime.Of(base.Add(-time.Duration(i/3) * time.Millisecond)), ExpiresAt: jsontime.Of(now.Add(6 * time.Hour)),
			Title: "suggestion " + fmt.Sprint(i), Provenance: provenance,
		}
		byCat[c] = append(byCat[c], items[i].SuggestionID)
	}
	if err := s.Put(context.Background(), tenant, prop, items, true); err != nil {
		t.Fatal(err)
	}
	return byCat
}

func suggestionIDs(es []inbox.SuggestionEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.SuggestionID
	}
	return out
}

// 5,000 suggestions in a property: a list answers one bounded page, and
// paging through reaches every one exactly once, newest first, with no
// Redis read larger than a page's work bound and none of a whole key.
func TestFiveThousandSuggestionsPageThroughExactlyOnce(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	rec := &reads{}
	d.deps.Redis.AddHook(rec)
	s := inbox.NewSuggestions(d.deps)
	ctx := context.Background()
	prop := d.props[0]
	const n = 5000
	cats := []aiorchestrator.Category{aiorchestrator.CategoryRateChange, aiorchestrator.CategoryOverbookingWarning,
		aiorchestrator.CategoryHousekeepingReorder, aiorchestrator.CategoryStaffing, aiorchestrator.CategoryGuestSpecialHandling}
	byCat := bulkSuggestions(t, s, d.tenant, prop, n, cats, time.Now())
	mgr := manager(d.tenant, d.props...)

	rec.on.Store(true)
	first, _, err := s.Inbox(ctx, mgr, inbox.Query{PropertyID: prop})
	rec.on.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != listcursor.DefaultLimit || first.NextCursor == "" {
		t.Fatalf("first page: %d items, next cursor %q; want %d and a cursor", len(first.Items), first.NextCursor, listcursor.DefaultLimit)
	}
	// Three share the newest millisecond; their ids order them.
	if id := first.Items[0].SuggestionID; !slices.Contains([]string{"sug-00000", "sug-00001", "sug-00002"}, id) {
		t.Errorf("first entry %s, want one of the newest three", id)
	}

	rec.on.Store(true)
	all, pages := everything(t, s.Inbox, mgr, inbox.Query{PropertyID: prop, Limit: "200"}, n/200+1)
	rec.on.Store(false)
	if pages != n/200 {
		t.Errorf("%d pages of 200, want %d", pages, n/200)
	}
	got := suggestionIDs(all)
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("paged through %d entries (%d distinct), want each of %d once", len(got), len(seen), n)
	}
	if !slices.IsSortedFunc(all, func(a, b inbox.SuggestionEntry) int { return strings.Compare(b.ID, a.ID) }) {
		t.Error("entries are not newest first")
	}
	largest, bad := rec.largest()
	if len(bad) > 0 {
		t.Errorf("lists read whole keys: %v", bad)
	}
	if largest > 2*(200+1) {
		t.Errorf("a list read %d members in one command; a page of 200 should read at most %d", largest, 2*(200+1))
	}

	// A housekeeping lead pages through the housekeeping suggestions only.
	hk := manager(d.tenant, d.props...)
	hk.Roles = []string{"housekeeping_lead"}
	mine, _ := everything(t, s.Inbox, hk, inbox.Query{PropertyID: prop, Limit: "200"}, n/200)
	if want := byCat[aiorchestrator.CategoryHousekeepingReorder]; len(mine) != len(want) {
		t.Fatalf("housekeeping lead paged %d entries, want the %d housekeeping ones", len(mine), len(want))
	}
	for _, e := range mine {
		if e.Category != aiorchestrator.CategoryHousekeepingReorder {
			t.Fatalf("housekeeping lead listed a %s suggestion", e.Category)
		}
	}

	// Three of the oldest decided: a decided list skips thousands of open
	// ones in bounded pages (some short or empty, each with a cursor) and
	// still reaches exactly those three.
	want := []string{"sug-04990", "sug-04995", "sug-04999"}
	for _, id := range want {
		aim := inbox.EntryID(ids.AISuggestion, d.tenant, id, all[slices.Index(got, id)].CreatedAt.Time)
		if _, _, err := s.Decide(ctx, mgr, aim, inbox.DecisionRequest{Outcome: aiorchestrator.OutcomeAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	decided, pages := everything(t, s.Inbox, mgr, inbox.Query{PropertyID: prop, Status: inbox.StatusDecided}, n/200+2)
	if fmt.Sprint(suggestionIDs(decided)) != fmt.Sprint(want) {
		t.Fatalf("decided list = %v, want %v", suggestionIDs(decided), want)
	}
	if pages < 2 {
		t.Errorf("the decided list read 5,000 entries in %d page; a page's work is bounded", pages)
	}
	open, _ := everything(t, s.Inbox, mgr, inbox.Query{PropertyID: prop, Limit: "200"}, n/200+1)
	if len(open) != n-len(want) {
		t.Errorf("open list = %d entries, want %d", len(open), n-len(want))
	}
}

// A cursor is good only for the list, tenant, property, status, operator
// and role set it was issued for; altered or replayed with anything else
// it is 400, as is a limit outside 1–200.
func TestCursorTamperedOrReplayedIsRefused(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	s := inbox.NewSuggestions(d.deps)
	al := inbox.NewAlerts(d.deps, nil)
	ctx := context.Background()
	bulkSuggestions(t, s, d.tenant, d.props[0], 30, []aiorchestrator.Category{aiorchestrator.CategoryRateChange}, time.Now())
	if err := s.Put(ctx, d.tenant, d.props[1], nil, true); err != nil {
		t.Fatal(err)
	}
	if err := al.Put(ctx, d.tenant, d.props[0], nil, true); err != nil {
		t.Fatal(err)
	}
	a := d.operator()
	q := inbox.Query{PropertyID: d.props[0], Limit: "10"}
	l, _, err := s.Inbox(ctx, a, q)
	if err != nil || l.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", l, err)
	}
	cur := l.NextCursor
	// The cursor carries on where the page ended.
	next, _, err := s.Inbox(ctx, a, inbox.Query{PropertyID: d.props[0], Limit: "10", Cursor: cur})
	if err != nil || len(next.Items) != 10 || next.Items[0].ID >= l.Items[9].ID {
		t.Fatalf("second page: %d items, %v", len(next.Items), err)
	}

	otherRoles := a
	otherRoles.Roles = []string{"night_auditor", "front_desk"}
	otherOp := a
	otherOp.OperatorID = ids.New(ids.Operator)
	altered := []byte(cur)
	altered[len(altered)/2] ^= 0x01
	if altered[len(altered)/2] == '-' || altered[len(altered)/2] == '_' {
		altered[len(altered)/2] = 'A'
	}
	cases := []struct {
		name  string
		a     actor.Actor
		q     inbox.Query
		field string
	}{
		{"altered", a, inbox.Query{PropertyID: d.props[0], Limit: "10", Cursor: string(altered)}, "cursor"},
		{"garbage", a, inbox.Query{PropertyID: d.props[0], Cursor: "not-a-cursor"}, "cursor"},
		{"other property", a, inbox.Query{PropertyID: d.props[1], Cursor: cur}, "cursor"},
		{"other status", a, inbox.Query{PropertyID: d.props[0], Status: inbox.StatusAll, Cursor: cur}, "cursor"},
		{"other operator", otherOp, inbox.Query{PropertyID: d.props[0], Cursor: cur}, "cursor"},
		{"other role set", otherRoles, inbox.Query{PropertyID: d.props[0], Cursor: cur}, "cursor"},
		{"limit 0", a, inbox.Query{PropertyID: d.props[0], Limit: "0"}, "limit"},
		{"limit 201", a, inbox.Query{PropertyID: d.props[0], Limit: "201"}, "limit"},
		{"limit not a number", a, inbox.Query{PropertyID: d.props[0], Limit: "ten"}, "limit"},
	}
	for _, tc := range cases {
		_, _, err := s.Inbox(ctx, tc.a, tc.q)
		ae := apperr.From(err)
		if err == nil || ae.Code != apperr.ValidationFailed || len(ae.Fields) != 1 || ae.Fields[0].Field != tc.field {
			t.Errorf("%s: Inbox = %v, want VALIDATION_FAILED on %s", tc.name, err, tc.field)
		}
	}
	// Another list's cursor (the same filters) is refused too.
	if _, _, err := al.Inbox(ctx, a, inbox.Query{PropertyID: d.props[0], Cursor: cur}); apperr.CodeOf(err) != apperr.ValidationFailed {
		t.Errorf("suggestion cursor on the alert list = %v, want VALIDATION_FAILED", err)
	}
	// Another deployment's key cannot sign one.
	other := d.deps
	other.Cursors, _ = listcursor.New([]byte(strings.Repeat("z", 40)))
	if _, _, err := inbox.NewSuggestions(other).Inbox(ctx, a, inbox.Query{PropertyID: d.props[0], Limit: "10", Cursor: cur}); apperr.CodeOf(err) != apperr.ValidationFailed {
		t.Errorf("cursor under another key = %v, want VALIDATION_FAILED", err)
	}
}

// mixedInbox mirrors, in prop, one displayable suggestion of each
// category (and one of a category the model does not know) and one alert
// of each category, and returns their entry ids by category.
func mixedInbox(t *testing.T, d *domain, s *inbox.Suggestions, al *inbox.Alerts, prop string) (map[string]string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	sugs := map[string]string{}
	var items []aiorchestrator.Suggestion
	for i, c := range []string{"overbooking_warning", "rate_change", "housekeeping_reorder", "maintenance_priority",
		"guest_special_handling", "staffing", "audit_anomaly", "other", "mystery_category"} {
		sg := aiorchestrator.Suggestion{
			SuggestionID: "sug-" + c, PropertyID: prop, Category: aiorchestrator.Category(c), Severity: aiorchestrator.SeverityInfo,
			CreatedAt: jsontime.Of(now.Add(-time.Duration(i) * time.Minute)), ExpiresAt: jsontime.Of(now.Add(time.Hour)),
			Title: c, Provenance: provenance,
		}
		items = append(items, sg)
		sugs[c] = inbox.EntryID(ids.AISuggestion, d.tenant, sg.SuggestionID, sg.CreatedAt.Time)
	}
	if err := s.Put(ctx, d.tenant, prop, items, true); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]string{}
	var als []notification.Alert
	for i, c := range []string{"oversold", "no_show", "payment_failed", "lock_failed", "sync_lag", "device_offline", "security", "other", "mystery_category"} {
		a := notification.Alert{AlertID: "alr-" + c, PropertyID: prop, Severity: notification.SeverityWarning, Category: notification.Category(c),
			RaisedAt: jsontime.Of(now.Add(-time.Duration(i) * time.Minute)), Payload: json.RawMessage(`{}`)}
		als = append(als, a)
		alerts[c] = inbox.EntryID(ids.Alert, d.tenant, a.AlertID, a.RaisedAt.Time)
	}
	if err := al.Put(ctx, d.tenant, prop, als, true); err != nil {
		t.Fatal(err)
	}
	return sugs, alerts
}

// Each role lists exactly the categories the role matrix gives it
// (unknown ones: managers and admins only) and is refused with 403
// FORBIDDEN_ROLE deciding or acknowledging any other, before anything is
// written.
func TestInboxesFollowTheRoleMatrix(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	s, al := inbox.NewSuggestions(d.deps), inbox.NewAlerts(d.deps, nil)
	ctx := context.Background()
	sugs, alerts := mixedInbox(t, d, s, al, d.props[0])
	unlisted := []string{"maintenance_priority", "staffing", "audit_anomaly", "other", "mystery_category"}
	cases := []struct {
		roles       []string
		suggestions []string
		alerts      []string
	}{
		{[]string{"housekeeping_lead"}, []string{"housekeeping_reorder"}, nil},
		{[]string{"maintenance_lead"}, nil, []string{"lock_failed"}},
		{[]string{"front_desk"}, []string{"overbooking_warning"}, []string{"oversold", "no_show", "payment_failed", "lock_failed"}},
		{[]string{"night_auditor"}, []string{"overbooking_warning", "rate_change"}, []string{"oversold", "no_show", "payment_failed", "lock_failed"}},
		{[]string{"front_desk", "housekeeping_lead"}, []string{"overbooking_warning", "housekeeping_reorder"}, []string{"oversold", "no_show", "payment_failed", "lock_failed"}},
		{[]string{"manager"}, append([]string{"overbooking_warning", "rate_change", "housekeeping_reorder", "guest_special_handling"}, unlisted...),
			[]string{"oversold", "no_show", "payment_failed", "lock_failed", "sync_lag", "device_offline", "security", "other", "mystery_category"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.roles, "+"), func(t *testing.T) {
			a := d.operator()
			a.Roles = tc.roles
			sl, _ := everything(t, s.Inbox, a, inbox.Query{PropertyID: d.props[0], Status: inbox.StatusAll}, 2)
			wantCategories(t, "suggestions", sl, func(e inbox.SuggestionEntry) string { return strings.TrimPrefix(e.SuggestionID, "sug-") }, tc.suggestions)
			alist, _ := everything(t, al.Inbox, a, inbox.Query{PropertyID: d.props[0], Status: inbox.StatusAll}, 2)
			wantCategories(t, "alerts", alist, func(e inbox.AlertEntry) string { return strings.TrimPrefix(e.AlertID, "alr-") }, tc.alerts)
			// What it may not see it may not decide or acknowledge.
			for c, aim := range sugs {
				if slices.Contains(tc.suggestions, c) {
					continue
				}
				if _, note, err := s.Decide(ctx, a, aim, inbox.DecisionRequest{Outcome: aiorchestrator.OutcomeAccepted}); apperr.CodeOf(err) != apperr.ForbiddenRole || note.Recorded {
					t.Errorf("deciding a %s suggestion = %v, want FORBIDDEN_ROLE", c, err)
				}
			}
			for c, ali := range alerts {
				if slices.Contains(tc.alerts, c) {
					continue
				}
				if _, note, err := al.Ack(ctx, a, ali); apperr.CodeOf(err) != apperr.ForbiddenRole || note.Recorded {
					t.Errorf("acknowledging a %s alert = %v, want FORBIDDEN_ROLE", c, err)
				}
			}
		})
	}
	for _, table := range []string{"bff.ai_decision", "bff.alert_ack", "bff.outbox", "bff.operator_activity"} {
		if n := d.count(t, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s holds %d rows after refusals only", table, n)
		}
	}

	// The scope is checked first: out of scope says so, whatever the role.
	outside := d.operator()
	outside.Roles, outside.PropertyScope = []string{"housekeeping_lead"}, []string{d.props[1]}
	if _, _, err := s.Decide(ctx, outside, sugs["rate_change"], inbox.DecisionRequest{Outcome: aiorchestrator.OutcomeAccepted}); apperr.CodeOf(err) != apperr.PropertyOutOfScope {
		t.Errorf("deciding out of scope = %v, want PROPERTY_OUT_OF_SCOPE", err)
	}
	// A role that may decide one does, and its write-once rule holds.
	hk := d.operator()
	hk.Roles = []string{"housekeeping_lead"}
	if _, _, err := s.Decide(ctx, hk, sugs["housekeeping_reorder"], inbox.DecisionRequest{Outcome: aiorchestrator.OutcomeAccepted}); err != nil {
		t.Fatalf("housekeeping lead deciding a reorder = %v", err)
	}
	if _, _, err := s.Decide(ctx, hk, sugs["housekeeping_reorder"], inbox.DecisionRequest{Outcome: aiorchestrator.OutcomeRejected}); !apperr.Is(err, apperr.DecisionAlreadyRecorded) {
		t.Errorf("second decision = %v, want DECISION_ALREADY_RECORDED", err)
	}
}

// Decided suggestions and resolved alerts leave the lists after their
// retention and the mirror at the next write; ended items keep their end
// until a redelivered creation can no longer arrive; each write prunes a
// bounded batch. Reads never delete anything.
func TestRetentionPrunedByWrites(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	var clock atomic.Pointer[time.Time]
	t0 := time.Now().Truncate(time.Millisecond)
	clock.Store(&t0)
	advance := func(by time.Duration) { c := clock.Load().Add(by); clock.Store(&c) }
	deps := d.deps
	deps.Now = func() time.Time { return *clock.Load() }
	s, al := inbox.NewSuggestions(deps), inbox.NewAlerts(deps, nil)
	ctx := context.Background()
	prop := d.props[0]
	rdb := deps.Redis
	keys := rdb.KeyNames()
	sug := func(id string, expires time.Time) aiorchestrator.Suggestion {
		return aiorchestrator.Suggestion{SuggestionID: id, PropertyID: prop, Category: aiorchestrator.CategoryRateChange,
			Severity: aiorchestrator.SeverityInfo, CreatedAt: jsontime.Of(t0.Add(-time.Hour)), ExpiresAt: jsontime.Of(expires),
			Title: id, Provenance: provenance}
	}
	if err := s.Put(ctx, d.tenant, prop, []aiorchestrator.Suggestion{
		sug("decided", t0.Add(20*24*time.Hour)), sug("expired", t0.Add(time.Hour)),
		sug("invalidated", t0.Add(20*24*time.Hour)), sug("open", t0.Add(20*24*time.Hour)),
	}, true); err != nil {
		t.Fatal(err)
	}
	alert := func(id string, resolved time.Time) notification.Alert {
		return notification.Alert{AlertID: id, PropertyID: prop, Severity: notification.SeverityWarning, Category: notification.CategoryOversold,
			RaisedAt: jsontime.Of(t0.Add(-time.Hour)), ResolvedAt: jsontime.Of(resolved), Payload: json.RawMessage(`{}`)}
	}
	if err := al.Put(ctx, d.tenant, prop, []notification.Alert{alert("resolved", t0), alert("open", time.Time{})}, true); err != nil {
		t.Fatal(err)
	}
	a := d.operator()
	decidedAim := inbox.EntryID(ids.AISuggestion, d.tenant, "decided", t0.Add(-time.Hour))
	if _, _, err := s.Decide(ctx, a, decidedAim, inbox.DecisionRequest{Outcome: aiorchestrator.OutcomeAccepted}); err != nil {
		t.Fatal(err)
	}
	if err := s.Invalidate(ctx, d.tenant, prop, "invalidated", t0); err != nil {
		t.Fatal(err)
	}
	listed := func() string {
		t.Helper()
		sl, _ := everything(t, s.Inbox, a, inbox.Query{PropertyID: prop, Status: inbox.StatusAll}, 2)
		alist, _ := everything(t, al.Inbox, a, inbox.Query{PropertyID: prop, Status: inbox.StatusAll}, 2)
		var out []string
		for _, e := range sl {
			out = append(out, e.SuggestionID+"="+e.Status)
		}
		for _, e := range alist {
			out = append(out, "alert:"+e.AlertID+"="+e.Status)
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	held := func(kind, id string) (item, end bool) {
		t.Helper()
		it, err := rdb.HExists(ctx, keys.InboxItems(kind, d.tenant, prop), id).Result()
		if err != nil {
			t.Fatal(err)
		}
		en, err := rdb.HExists(ctx, keys.InboxEnds(kind, d.tenant, prop), id).Result()
		if err != nil {
			t.Fatal(err)
		}
		return it, en
	}
	// A write to each mirror: pruning runs there.
	write := func() {
		t.Helper()
		if err := s.Put(ctx, d.tenant, prop, nil, false); err != nil {
			t.Fatal(err)
		}
		if err := al.Put(ctx, d.tenant, prop, nil, false); err != nil {
			t.Fatal(err)
		}
	}

	if got, want := listed(), "[alert:open=open alert:resolved=resolved decided=decided expired=open open=open]"; got != want {
		t.Fatalf("at first: %s, want %s", got, want)
	}

	// 7 days and an hour on: the decision's and the resolution's windows
	// have passed, and the expired one's day.
	advance(inbox.DecidedKeep + time.Hour)
	if got, want := listed(), "[alert:open=open open=open]"; got != want {
		t.Fatalf("a week on: %s, want %s", got, want)
	}
	if it, _ := held("aiinbox", "decided"); !it {
		t.Fatal("a list pruned the mirror; only writes may")
	}
	write()
	for _, id := range []string{"decided", "expired"} {
		if it, _ := held("aiinbox", id); it {
			t.Errorf("%s suggestion still mirrored after a write past its retention", id)
		}
	}
	if n, _ := rdb.Exists(ctx, keys.InboxEntry("aiinbox", d.tenant, decidedAim)).Result(); n != 0 {
		t.Error("the decided entry's id index outlived it")
	}
	if n, _ := rdb.ZCard(ctx, keys.InboxOrder("aiinbox", d.tenant, prop, "rate_change")).Result(); n != 2 {
		t.Errorf("order index holds %d members, want 2 (invalidated, open)", n)
	}
	// Ended ones keep their end until no redelivery can arrive.
	if _, en := held("aiinbox", "invalidated"); !en {
		t.Error("the invalidation was dropped before a redelivered creation could no longer arrive")
	}
	if it, en := held("alertinbox", "resolved"); !it || !en {
		t.Error("the resolved alert was dropped before its end's keep")
	}
	// A redelivered creation of the invalidated one does not bring it back.
	if err := s.Put(ctx, d.tenant, prop, []aiorchestrator.Suggestion{sug("invalidated", t0.Add(20*24*time.Hour))}, false); err != nil {
		t.Fatal(err)
	}
	if got, want := listed(), "[alert:open=open open=open]"; got != want {
		t.Fatalf("after a redelivery: %s, want %s", got, want)
	}

	advance(24 * time.Hour)
	write()
	for _, c := range []struct{ kind, id string }{{"aiinbox", "invalidated"}, {"alertinbox", "resolved"}} {
		if it, en := held(c.kind, c.id); it || en {
			t.Errorf("%s %s still mirrored (item %v, end %v) past its end's keep", c.kind, c.id, it, en)
		}
	}
	if it, _ := held("aiinbox", "open"); !it {
		t.Error("the open suggestion was pruned")
	}
	if it, _ := held("alertinbox", "open"); !it {
		t.Error("the open alert was pruned")
	}
	if n := d.count(t, `SELECT count(*) FROM bff.ai_decision`); n != 1 {
		t.Errorf("%d decision rows, want 1: the log is permanent", n)
	}

	// Pruning is bounded per write: 250 due entries take three writes.
	var many []aiorchestrator.Suggestion
	for i := range 250 {
		many = append(many, sug(fmt.Sprintf("bulk-%03d", i), clock.Load().Add(time.Minute)))
	}
	if err := s.Put(ctx, d.tenant, prop, many, false); err != nil {
		t.Fatal(err)
	}
	advance(inbox.ExpiredKeep + time.Hour)
	items := keys.InboxItems("aiinbox", d.tenant, prop)
	for _, want := range []int64{151, 51, 1} {
		if err := s.Invalidate(ctx, d.tenant, prop, "unrelated-"+fmt.Sprint(want), *clock.Load()); err != nil {
			t.Fatal(err)
		}
		if n, _ := rdb.HLen(ctx, items).Result(); n != want {
			t.Fatalf("after a write, %d suggestions mirrored, want %d (100 pruned per write)", n, want)
		}
	}
}
