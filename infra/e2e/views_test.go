package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
)

type dashboardBody struct {
	ID              string                     `json:"id"`
	PropertyID      string                     `json:"propertyId"`
	OperatorRole    string                     `json:"operatorRole"`
	CacheKeyVersion int64                      `json:"cacheKeyVersion"`
	Widgets         map[string]json.RawMessage `json:"widgets"`
	Partial         bool                       `json:"partial"`
	Staleness       map[string]string          `json:"staleness"`
}

type viewBody struct {
	ID        string            `json:"id"`
	View      string            `json:"view"`
	Partial   bool              `json:"partial"`
	Staleness map[string]string `json:"staleness"`
	Items     json.RawMessage   `json:"items"`
}

func TestDashboardHealthyAndPermissioned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, mgr := e.operator(0, hasRole("manager"))
	r := e.do("GET", "/v1/dashboard", e.mint(tn, mgr, 0, nil), "")
	if r.StatusCode != 200 {
		t.Fatalf("manager dashboard = %d %s", r.StatusCode, r.body)
	}
	var d dashboardBody
	r.json(t, &d)
	if d.Partial || len(d.Widgets) != 11 || d.Staleness["revenue"] != "fresh" || d.OperatorRole != "manager" {
		t.Fatalf("manager dashboard: partial %v, %d widgets, staleness %v", d.Partial, len(d.Widgets), d.Staleness)
	}

	_, hk := e.operator(0, hasRole("housekeeping_lead"))
	r = e.do("GET", "/v1/dashboard", e.mint(tn, hk, 0, nil), "")
	var h dashboardBody
	r.json(t, &h)
	if r.StatusCode != 200 || h.Widgets["housekeepingSummary"] == nil {
		t.Fatalf("housekeeping dashboard = %d %s", r.StatusCode, r.body)
	}
	for _, money := range []string{"revenue", "occupancy"} {
		if _, ok := h.Widgets[money]; ok {
			t.Fatalf("a housekeeping lead's dashboard contains %s", money)
		}
	}

	var views int
	for _, a := range e.activity(tn.ID) {
		if a.Category == "view" && a.Action == "dashboard.viewed" && a.PropertyID != nil {
			views++
		}
	}
	if views != 2 {
		t.Fatalf("%d dashboard.viewed rows, want 2", views)
	}
}

func TestDashboardWithOneUpstreamHung(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, mgr := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, mgr, 0, nil)
	if err := e.srv.Fleet.Fake("revenue").SetFault(fakes.Fault{Path: "*", Hang: true}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.do("GET", "/v1/dashboard", tok, "")
	took := time.Since(start)
	if r.StatusCode != 200 {
		t.Fatalf("dashboard = %d %s", r.StatusCode, r.body)
	}
	var d dashboardBody
	r.json(t, &d)
	if !d.Partial || d.Staleness["revenue"] != "unavailable" || d.Staleness["occupancy"] != "unavailable" || d.Staleness["today"] != "fresh" {
		t.Fatalf("hung revenue: partial %v staleness %v", d.Partial, d.Staleness)
	}
	if string(d.Widgets["revenue"]) != "null" {
		t.Fatalf("unavailable revenue = %s, want null", d.Widgets["revenue"])
	}
	// The hung widget waits out its budget (1.5 s on this stack, see
	// wideBudgets); the bound is generous, far below the hang itself, which
	// would last until the client's 10 s timeout.
	if took > 6*time.Second {
		t.Fatalf("dashboard took %v with one upstream hung", took)
	}
}

func TestViewsAndScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, fd := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, fd, 0, nil)
	for _, p := range []string{"/v1/today", "/v1/arrivals", "/v1/departures", "/v1/in-house", "/v1/housekeeping/board"} {
		r := e.do("GET", p, tok, "")
		if r.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", p, r.StatusCode, r.body)
		}
		var v viewBody
		r.json(t, &v)
		if v.Partial || len(v.Items) == 0 || string(v.Items) == "null" {
			t.Fatalf("GET %s: %s", p, truncate(r.body))
		}
	}
	// A front desk agent does not run the maintenance board.
	r := e.do("GET", "/v1/maintenance/board", tok, "")
	if r.StatusCode != 403 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("front desk maintenance board = %d %s", r.StatusCode, r.body)
	}
	_, hk := e.operator(0, hasRole("housekeeping_lead"))
	r = e.do("GET", "/v1/arrivals", e.mint(tn, hk, 0, nil), "")
	if r.StatusCode != 403 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("housekeeping arrivals = %d %s", r.StatusCode, r.body)
	}

	other := e.srv.Demo.Tenants[1].Properties[0].ID
	for _, q := range []string{"?propertyId=" + other, "?propertyId=prp_nope"} {
		r := e.do("GET", "/v1/dashboard"+q, tok, "")
		want := map[bool]int{true: 403, false: 400}[q != "?propertyId=prp_nope"]
		if r.StatusCode != want {
			t.Fatalf("dashboard%s = %d %s, want %d", q, r.StatusCode, r.body, want)
		}
		if want == 403 && r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE" {
			t.Fatalf("dashboard%s code %s", q, r.body)
		}
	}
	// A property of this tenant outside the operator's scope.
	_, narrow := e.operator(0, func(o demo.Operator) bool { return len(o.PropertyScope) == 1 && len(o.Devices) > 0 })
	outside := tn.Properties[0].ID
	if outside == narrow.PropertyScope[0] {
		outside = tn.Properties[1].ID
	}
	r = e.do("GET", "/v1/today?propertyId="+outside, e.mint(tn, narrow, 0, nil), "")
	if r.StatusCode != 403 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE" {
		t.Fatalf("today outside scope = %d %s", r.StatusCode, r.body)
	}
}

func TestCachedThenInvalidatedByEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, fd := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, fd, 0, nil)
	id := func() string {
		r := e.do("GET", "/v1/arrivals", tok, "")
		var v viewBody
		r.json(t, &v)
		return v.ID
	}
	first := id()
	if again := id(); again != first {
		t.Fatalf("second GET composed anew (%s vs %s); want the cached view", again, first)
	}
	calls := e.srv.Fleet.Fake("reservation").Stats()
	prop := fd.PrimaryPropertyID
	if prop == "" {
		prop = fd.PropertyScope[0]
	}
	ev, err := events.New(events.ReservationChanged, tn.ID, prop, map[string]any{"propertyId": prop})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pubsubevents.NewPublisher(context.Background(), e.project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "arrivals recomposed after reservation.changed", func() bool { return id() != first })
	after := e.srv.Fleet.Fake("reservation").Stats()
	if total(after) <= total(calls) {
		t.Fatalf("no new upstream call after invalidation: %v → %v", calls, after)
	}
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
