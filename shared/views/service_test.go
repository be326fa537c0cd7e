package views_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/compose/composetest"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// The composition called directly with a plain actor, on real Redis; the
// upstreams are either absent (their widgets unavailable) or one canned
// reservation-service.

// day is the civil date every test composes for.
var day = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// publisher records what it is sent and answers err after delay (or when
// the context ends, if sooner).
type publisher struct {
	mu    sync.Mutex
	sent  []events.Envelope
	ctxOK []bool // whether each call's context had a deadline
	delay time.Duration
	err   error
}

func (p *publisher) Publish(ctx context.Context, evs ...events.Envelope) error {
	_, hasDeadline := ctx.Deadline()
	p.mu.Lock()
	p.sent = append(p.sent, evs...)
	p.ctxOK = append(p.ctxOK, hasDeadline)
	p.mu.Unlock()
	select {
	case <-time.After(p.delay):
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newService(t *testing.T, src *views.Sources) *views.Service {
	t.Helper()
	if src == nil {
		src = &views.Sources{}
	}
	return &views.Service{
		Composer: compose.New(testenv.Redis(t), compose.Options{}),
		Sources:  src,
		Calendar: &views.Calendar{Now: func() time.Time { return day }},
	}
}

func operator(roles ...string) actor.Actor {
	p1, p2 := ids.New(ids.Property), ids.New(ids.Property)
	return actor.Actor{
		TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session),
		Roles: roles, PropertyScope: []string{p1, p2}, PrimaryPropertyID: p2, RequestID: "req-1", Start: time.Now(),
	}
}

func TestDashboardWidgetSetFollowsRoles(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	cases := []struct {
		name          string
		roles         []string
		revenue, room bool   // sees revenue; sees the front desk's lists
		operatorRole  string // the snapshot's single role
	}{
		{name: "front desk", roles: []string{tenant.RoleFrontDesk}, room: true, operatorRole: tenant.RoleFrontDesk},
		{name: "night auditor", roles: []string{tenant.RoleNightAuditor}, revenue: true, room: true, operatorRole: tenant.RoleNightAuditor},
		{name: "housekeeping lead", roles: []string{tenant.RoleHousekeepingLead}, operatorRole: tenant.RoleHousekeepingLead},
		{name: "two roles: the union", roles: []string{tenant.RoleHousekeepingLead, tenant.RoleNightAuditor}, revenue: true, room: true, operatorRole: tenant.RoleNightAuditor},
		{name: "manager", roles: []string{tenant.RoleManager}, revenue: true, room: true, operatorRole: tenant.RoleManager},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := operator(tc.roles...)
			b, note, err := s.Dashboard(context.Background(), a, "")
			if err != nil {
				t.Fatalf("Dashboard: %v", err)
			}
			var d views.Dashboard
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			got := slices.Sorted(maps.Keys(d.Widgets))
			want := slices.Sorted(slices.Values(views.DashboardWidgets(tc.roles)))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("widgets (-want +got):\n%s", diff)
			}
			if _, ok := d.Widgets[views.WRevenue]; ok != tc.revenue {
				t.Errorf("revenue widget shown = %v, want %v", ok, tc.revenue)
			}
			if _, ok := d.Widgets[views.WArrivals]; ok != tc.room {
				t.Errorf("arrivals widget shown = %v, want %v", ok, tc.room)
			}
			// No upstream is configured: every widget is unavailable and
			// the dashboard says so instead of failing.
			if !d.Partial || len(d.Staleness) != len(want) || d.Staleness[views.WToday] != compose.Unavailable {
				t.Errorf("partial = %v, staleness = %v; want every widget unavailable", d.Partial, d.Staleness)
			}
			if d.PropertyID != a.PrimaryPropertyID || d.OperatorRole != tc.operatorRole || d.TenantID != a.TenantID {
				t.Errorf("dashboard of %s as %q, want %s as %q", d.PropertyID, d.OperatorRole, a.PrimaryPropertyID, tc.operatorRole)
			}
			// The row says the operator saw a partial dashboard, and which
			// widgets were missing.
			var missing []string
			for _, w := range want {
				missing = append(missing, w+"="+compose.Unavailable)
			}
			wantNote := activity.Note{Category: activity.CategoryView, Action: activity.ActionDashboardViewed,
				PropertyID: a.PrimaryPropertyID, Resource: &activity.Ref{Kind: "dashboard", ID: d.ID}, Partial: missing}
			if diff := cmp.Diff(wantNote, note); diff != "" {
				t.Errorf("note (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDashboardRefusals(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	a := operator(tenant.RoleFrontDesk)
	cases := []struct {
		name     string
		a        actor.Actor
		prop     string
		code     apperr.Code
		noteProp string
	}{
		{name: "property out of scope", a: a, prop: ids.New(ids.Property), code: apperr.PropertyOutOfScope},
		{name: "malformed property", a: a, prop: "nope", code: apperr.ValidationFailed},
		{name: "no role with widgets", a: operator("guest_relations"), code: apperr.ForbiddenRole},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, note, err := s.Dashboard(context.Background(), tc.a, tc.prop)
			if apperr.CodeOf(err) != tc.code || b != nil {
				t.Fatalf("Dashboard = %q, %v; want %s", b, err, tc.code)
			}
			if note.Action != activity.ActionDashboardViewed || note.Recorded {
				t.Errorf("note = %+v", note)
			}
			// A role refusal happens on a resolved property, which the
			// failure row names.
			if tc.code == apperr.ForbiddenRole && note.PropertyID != tc.a.PrimaryPropertyID {
				t.Errorf("note property = %q, want %q", note.PropertyID, tc.a.PrimaryPropertyID)
			}
		})
	}
}

func TestViewPartialWhenItsUpstreamFails(t *testing.T) {
	t.Parallel()
	healthy, _ := upstreamtest.Client(t, "RESERVATION_SERVICE", `{"date":"2026-11-29","items":[]}`, reservation.NewClient)
	dead, err := reservation.NewClient(reservation.Config{URL: "http://127.0.0.1:1", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		client  *reservation.Client
		partial bool
		stale   string
	}{
		{name: "upstream answers", client: healthy, stale: compose.Fresh},
		{name: "upstream down", client: dead, partial: true, stale: compose.Unavailable},
		{name: "no client", partial: true, stale: compose.Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, &views.Sources{Reservation: tc.client})
			a := operator(tenant.RoleFrontDesk)
			prop := a.PropertyScope[0]
			b, note, err := s.View(context.Background(), a, views.VArrivals, prop)
			if err != nil {
				t.Fatalf("View: %v", err)
			}
			var v views.View
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			if v.Partial != tc.partial || v.Staleness["items"] != tc.stale || string(v.Items) != "[]" {
				t.Errorf("view = partial %v, staleness %v, items %s; want partial %v, %s, []", v.Partial, v.Staleness, v.Items, tc.partial, tc.stale)
			}
			wantNote := activity.Note{Category: activity.CategoryView, Action: activity.ActionWorkbenchArrivalsOpened,
				PropertyID: prop, Resource: &activity.Ref{Kind: "workbench_view", ID: v.ID}}
			if tc.partial {
				wantNote.Partial = []string{"items=" + tc.stale}
			}
			if diff := cmp.Diff(wantNote, note); diff != "" {
				t.Errorf("note (-want +got):\n%s", diff)
			}
		})
	}
}

func TestViewRoles(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	kinds := []string{views.VToday, views.VArrivals, views.VDepartures, views.VInHouse, views.VHousekeepingBoard, views.VMaintenanceBoard}
	for _, kind := range kinds {
		for _, role := range tenant.Roles() {
			allowed := slices.Contains(views.ViewRoles(kind), role)
			_, note, err := s.View(context.Background(), operator(role), kind, "")
			switch {
			case allowed && err != nil:
				t.Errorf("%s as %s: %v", kind, role, err)
			case !allowed && !apperr.Is(err, apperr.ForbiddenRole):
				t.Errorf("%s as %s = %v, want FORBIDDEN_ROLE", kind, role, err)
			}
			if c, ok := activity.CategoryOf(note.Action); !ok || c != activity.CategoryView {
				t.Errorf("%s: action %q is not a registered view action", kind, note.Action)
			}
		}
	}
	// The guest lists are not the housekeepers'.
	if _, _, err := s.View(context.Background(), operator(tenant.RoleHousekeepingLead), views.VArrivals, ""); !apperr.Is(err, apperr.ForbiddenRole) {
		t.Errorf("arrivals as housekeeping lead = %v, want FORBIDDEN_ROLE", err)
	}
}

func TestTelemetryNeverFailsTheRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		pub  *publisher
	}{
		{name: "publish fails", pub: &publisher{err: errors.New("pub/sub down")}},
		{name: "publish hangs past the timeout", pub: &publisher{delay: time.Minute}},
		{name: "publish succeeds", pub: &publisher{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, nil)
			s.SampleRate, s.Publisher, s.PublishTimeout = 1, tc.pub, 100*time.Millisecond
			a := operator(tenant.RoleFrontDesk)
			start := time.Now()
			b, _, err := s.Dashboard(context.Background(), a, "")
			if err != nil || len(b) == 0 {
				t.Fatalf("Dashboard = %d bytes, %v; want the dashboard", len(b), err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Dashboard took %s: the publish timeout was not applied", took)
			}
			tc.pub.mu.Lock()
			defer tc.pub.mu.Unlock()
			if len(tc.pub.sent) != 1 || tc.pub.sent[0].Subject != events.DashboardViewed || !tc.pub.ctxOK[0] {
				t.Fatalf("published %+v (deadline %v), want one %s under a deadline", tc.pub.sent, tc.pub.ctxOK, events.DashboardViewed)
			}
			var data map[string]any
			if err := json.Unmarshal(tc.pub.sent[0].Data, &data); err != nil || data["operatorId"] != a.OperatorID || data["sessionId"] != a.SessionID {
				t.Errorf("event data = %v (%v)", data, err)
			}
		})
	}
	// Sampled out: nothing is sent.
	s := newService(t, nil)
	pub := &publisher{}
	s.SampleRate, s.Publisher = 0, pub
	if _, _, err := s.Dashboard(context.Background(), operator(tenant.RoleFrontDesk), ""); err != nil {
		t.Fatal(err)
	}
	if len(pub.sent) != 0 {
		t.Errorf("sample rate 0 published %d events", len(pub.sent))
	}
}

// A workbench view is cached for 15 s, a partial one for 5 s, and a
// dashboard for 30 s: the TTLs its snapshot keys are stored with (Redis
// expires them).
func TestSnapshotLifetimes(t *testing.T) {
	t.Parallel()
	healthy, _ := upstreamtest.Client(t, "RESERVATION_SERVICE", `{"date":"2026-11-29","items":[]}`, reservation.NewClient)
	rdb := testenv.Redis(t)
	s := &views.Service{
		Composer: compose.New(rdb, compose.Options{}),
		Sources:  &views.Sources{Reservation: healthy},
		Calendar: &views.Calendar{Now: func() time.Time { return day }},
	}
	ctx := context.Background()
	snapTTL := func(what, kind, prop string, want time.Duration) {
		t.Helper()
		composetest.WantTTL(t, rdb, what+" snapshot", "snap:"+kind+":*"+prop+"*", want)
	}

	a := operator(tenant.RoleFrontDesk)
	if _, _, err := s.View(ctx, a, views.VArrivals, a.PropertyScope[0]); err != nil {
		t.Fatal(err)
	}
	snapTTL("view", views.VArrivals, a.PropertyScope[0], views.ViewTTL)
	if views.ViewTTL != 15*time.Second || views.DashboardTTL != 30*time.Second {
		t.Fatalf("ViewTTL %s, DashboardTTL %s; want 15 s and 30 s", views.ViewTTL, views.DashboardTTL)
	}

	// Without a reservation-service the view is partial.
	s.Sources = &views.Sources{}
	b := operator(tenant.RoleFrontDesk)
	if _, _, err := s.View(ctx, b, views.VArrivals, b.PropertyScope[0]); err != nil {
		t.Fatal(err)
	}
	snapTTL("partial view", views.VArrivals, b.PropertyScope[0], 5*time.Second)
}

// Today is open to every role, but roles without the guest-data right get
// its rows without names, balances, folio ids or notes; the two answers
// are cached apart (the role set is in the key), so neither leaks into the
// other.
func TestTodayIsGuestFreeForRolesWithoutGuestData(t *testing.T) {
	t.Parallel()
	const stay = `{"date":"2026-11-29","items":[{"reservationId":"rsv_01JDZ0V5D4Y4S6X1W0M6V9N3QK","guestName":"Ada Quartermaine",` +
		`"roomNumber":"512","roomType":"Queen Double","status":"expected","arrivalDate":"2026-11-29","departureDate":"2026-12-01",` +
		`"nights":2,"adults":2,"children":0,"vip":true,"balanceDue":{"amount":"412.50","currency":"EUR"},"folioId":"fol_01JDZ0V5D4Y4S6X1W0M6V9N3QM","notes":"late check-in, allergic to feathers"}]}`
	rc, _ := upstreamtest.Client(t, "RESERVATION_SERVICE", stay, reservation.NewClient)
	s := &views.Service{
		Composer: compose.New(testenv.Redis(t), compose.Options{}),
		Sources:  &views.Sources{Reservation: rc},
		Calendar: &views.Calendar{Now: func() time.Time { return day }},
	}
	ctx := context.Background()
	desk := operator(tenant.RoleFrontDesk)
	cases := []struct {
		roles []string
		guest bool // sees guest data
	}{
		{[]string{tenant.RoleHousekeepingLead}, false},
		{[]string{tenant.RoleMaintenanceLead}, false},
		{[]string{tenant.RoleHousekeepingLead, tenant.RoleMaintenanceLead}, false},
		{[]string{tenant.RoleFrontDesk}, true},
		{[]string{tenant.RoleHousekeepingLead, tenant.RoleNightAuditor}, true},
	}
	for _, c := range cases {
		roles, guest := c.roles, c.guest
		a := desk
		a.Roles = roles
		b, _, err := s.View(ctx, a, views.VToday, "")
		if err != nil {
			t.Fatalf("View(today) as %v: %v", roles, err)
		}
		var v struct {
			Partial bool             `json:"partial"`
			Items   []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.Partial || len(v.Items) != 2 {
			t.Fatalf("today as %v = %s (%v); want two rows, not partial", roles, b, err)
		}
		for _, f := range []string{"guestName", "balanceDue", "folioId", "notes"} {
			if _, ok := v.Items[0][f]; ok != guest {
				t.Errorf("today as %v: field %s present = %v, want %v", roles, f, ok, guest)
			}
		}
		for _, secret := range []string{"Quartermaine", "412.50", "feathers", "fol_"} {
			if got := strings.Contains(string(b), secret); got != guest {
				t.Errorf("today as %v: %q in the body = %v, want %v", roles, secret, got, guest)
			}
		}
		if v.Items[0]["roomNumber"] != "512" || v.Items[0]["reservationId"] == nil {
			t.Errorf("today as %v lost the room or reservation: %v", roles, v.Items[0])
		}
	}
}

// A board's items are an array of its rooms, [] when the upstream is
// down.
func TestBoardItemsAreArrays(t *testing.T) {
	t.Parallel()
	const board = `{"rooms":[{"roomNumber":"101","roomType":"King","status":"dirty","occupied":false,"priority":"high"}],"summary":{"clean":0,"dirty":1,"inspected":0,"outOfOrder":0}}`
	hc, _ := upstreamtest.Client(t, "HOUSEKEEPING_SERVICE", board, housekeeping.NewClient)
	s := &views.Service{
		Composer: compose.New(testenv.Redis(t), compose.Options{}),
		Sources:  &views.Sources{Housekeeping: hc},
		Calendar: &views.Calendar{Now: func() time.Time { return day }},
	}
	a := operator(tenant.RoleHousekeepingLead)
	for kind, want := range map[string]int{views.VHousekeepingBoard: 1, views.VMaintenanceBoard: 0} {
		b, _, err := s.View(context.Background(), a, kind, "")
		if err != nil {
			t.Fatalf("View(%s): %v", kind, err)
		}
		var v struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.Items == nil || len(v.Items) != want {
			t.Errorf("%s = %s (%v); want items an array of %d", kind, b, err, want)
		}
	}
}

// enqueuer is a publisher that can also take events without waiting; its
// Publish would hang, so a view that waited on it would time out.
type enqueuer struct {
	publisher
	queued []events.Envelope
}

func (q *enqueuer) Enqueue(_ context.Context, evs ...events.Envelope) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued = append(q.queued, evs...)
}

// A publisher that batches without waiting is handed the view event and
// never waited on: the hot path pays no Pub/Sub round trip.
func TestTelemetryIsEnqueuedWhenThePublisherCan(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	q := &enqueuer{publisher: publisher{delay: time.Minute}}
	s.SampleRate, s.Publisher, s.PublishTimeout = 1, q, 30*time.Second
	start := time.Now()
	if _, _, err := s.Dashboard(context.Background(), operator(tenant.RoleFrontDesk), ""); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Dashboard took %s: it waited on Publish", took)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.sent) != 0 || len(q.queued) != 1 || q.queued[0].Subject != events.DashboardViewed {
		t.Fatalf("published %d, enqueued %+v; want one %s enqueued and nothing awaited", len(q.sent), q.queued, events.DashboardViewed)
	}
}

// The view events' data is the contract's: exactly these keys, in this
// encoding, for a dashboard and for a workbench view.
func TestViewEventData(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	q := &enqueuer{}
	s.SampleRate, s.Publisher = 1, q
	a := operator(tenant.RoleFrontDesk)
	d := dashboardOf(t, context.Background(), s, a, "")
	vb, _, err := s.View(context.Background(), a, "arrivals", "")
	if err != nil {
		t.Fatal(err)
	}
	var v views.View
	if err := json.Unmarshal(vb, &v); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queued) != 2 {
		t.Fatalf("%d events, want 2", len(q.queued))
	}
	want := []string{
		fmt.Sprintf(`{"operatorId":%q,"operatorRole":"front_desk","partial":true,"sessionId":%q,"snapshotId":%q,"widgets":%d}`, a.OperatorID, a.SessionID, d.ID, len(d.Widgets)),
		fmt.Sprintf(`{"operatorId":%q,"partial":true,"sessionId":%q,"view":"arrivals","viewId":%q}`, a.OperatorID, a.SessionID, v.ID),
	}
	for i, ev := range q.queued {
		if string(ev.Data) != want[i] {
			t.Errorf("%s data:\n got %s\nwant %s", ev.Subject, ev.Data, want[i])
		}
	}
}
