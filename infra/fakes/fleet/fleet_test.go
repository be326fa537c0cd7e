package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/fleet"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped/scopedtest"
)

// startAt runs a fleet whose clock reads *now.
func startAt(t *testing.T, now func() time.Time) (*fleet.Fleet, *demo.Dataset) {
	t.Helper()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleet.StartOps(demo.NewOps(ds, now), fakes.WithLatency(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A connection the client's transport dialled but never used
		// holds a server's Shutdown for 5 s (net/http treats it as busy).
		http.DefaultClient.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return f, ds
}

func start(t *testing.T) (*fleet.Fleet, *demo.Dataset) {
	return startAt(t, func() time.Time { return scopedtest.Fixed })
}

func get(t *testing.T, method, url string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func getInto(t *testing.T, url string, v any) {
	t.Helper()
	code, _, b := get(t, http.MethodGet, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// endpoints are every path of docs/UPSTREAMS.md, by service, relative to P.
var endpoints = map[string][]string{
	fleet.Reservation:    {"/today?date=2026-11-23", "/arrivals?date=2026-11-23", "/departures?date=2026-11-24", "/in-house"},
	fleet.Housekeeping:   {"/housekeeping/board"},
	fleet.Maintenance:    {"/maintenance/board"},
	fleet.Revenue:        {"/occupancy?date=2026-11-23", "/revenue?date=2026-11-20"},
	fleet.AIOrchestrator: {"/suggestions?status=open", "/suggestions?status=all", "/suggestions/summary"},
	fleet.Notification:   {"/alerts?status=open", "/alerts?status=all", "/alerts/summary"},
	fleet.Sync:           {"/devices/status"},
}

func prefix(tid, pid string) string { return "/v1/tenants/" + tid + "/properties/" + pid }

func TestStartServesEveryService(t *testing.T) {
	t.Parallel()
	f, _ := start(t)
	if got := slices.Sorted(maps.Keys(f.URLs)); !slices.Equal(got, fleet.Names()) {
		t.Fatalf("URLs for %v, want %v", got, fleet.Names())
	}
	env := f.Env()
	for _, name := range fleet.Names() {
		if !strings.HasPrefix(f.URL(name), "http://127.0.0.1:") || f.Fake(name) == nil || f.Service(name) == nil {
			t.Errorf("%s: URL %q, fake %v", name, f.URL(name), f.Fake(name))
		}
		if env[fleet.EnvVar(name)] != f.URL(name) {
			t.Errorf("env %s = %q", fleet.EnvVar(name), env[fleet.EnvVar(name)])
		}
	}
	if got := fleet.EnvVar(fleet.AIOrchestrator); got != "AI_ORCHESTRATOR_SERVICE_URL" {
		t.Errorf("EnvVar(ai-orchestrator) = %s", got)
	}
	if f.Fake("tenant") != nil || f.URL("tenant") != "" {
		t.Error("unknown service names must give nothing")
	}
}

func TestEveryEndpointIsDeterministic(t *testing.T) {
	t.Parallel()
	f, ds := start(t)
	// Two fleets on the same clock must agree too: nothing depends on
	// process state.
	g, _ := start(t)
	for svc, paths := range endpoints {
		for _, tn := range ds.Tenants {
			for _, p := range tn.Properties {
				for _, path := range paths {
					t.Run(svc+path+"/"+p.Name, func(t *testing.T) {
						t.Parallel()
						u := prefix(tn.ID, p.ID) + path
						c1, ct, b1 := get(t, http.MethodGet, f.URL(svc)+u)
						_, _, b2 := get(t, http.MethodGet, f.URL(svc)+u)
						_, _, b3 := get(t, http.MethodGet, g.URL(svc)+u)
						if c1 != http.StatusOK || ct != "application/json" {
							t.Fatalf("%d %s: %s", c1, ct, b1)
						}
						if !bytes.Equal(b1, b2) || !bytes.Equal(b1, b3) {
							t.Fatalf("answers differ:\n%s\n%s\n%s", b1, b2, b3)
						}
					})
				}
			}
		}
	}
}

func TestSameAnswerWithinAQuantum(t *testing.T) {
	t.Parallel()
	now := scopedtest.Fixed.Truncate(demo.Quantum)
	clock := make(chan time.Time, 2)
	clock <- now.Add(time.Second)
	clock <- now.Add(demo.Quantum - time.Second)
	f, ds := startAt(t, func() time.Time { return <-clock })
	tn := ds.Tenants[0]
	u := f.URL(fleet.AIOrchestrator) + prefix(tn.ID, tn.Properties[0].ID) + "/suggestions?status=all"
	_, _, a := get(t, http.MethodGet, u)
	_, _, b := get(t, http.MethodGet, u)
	if !bytes.Equal(a, b) {
		t.Fatalf("answers differ within one quantum:\n%s\n%s", a, b)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f, ds := start(t)
	harbour, casa := ds.Tenants[0], ds.Tenants[1]
	hp := harbour.Properties[0].ID
	cases := []struct {
		name, path, method string
		status             int
		code               string // suffix after MELMASTOON.<AREA>.
	}{
		{"unknown tenant", prefix("ten_01JN8EY4M00000000000000000", hp), "GET", 404, "TENANT_NOT_FOUND"},
		{"unknown property", prefix(harbour.ID, "prp_01JN8EY4M00000000000000000"), "GET", 404, "PROPERTY_NOT_FOUND"},
		{"another tenant's property", prefix(casa.ID, hp), "GET", 404, "PROPERTY_NOT_FOUND"},
		{"malformed tenant", prefix("acme", hp), "GET", 400, "VALIDATION_FAILED"},
		{"lower-case property", prefix(harbour.ID, strings.ToLower(hp)), "GET", 400, "VALIDATION_FAILED"},
		{"property id of the wrong kind", prefix(harbour.ID, harbour.ID), "GET", 400, "VALIDATION_FAILED"},
		{"POST", prefix(harbour.ID, hp), "POST", 405, "METHOD_NOT_ALLOWED"},
	}
	for svc, paths := range endpoints {
		for _, tc := range cases {
			t.Run(svc+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				status, ctype, body := get(t, tc.method, f.URL(svc)+tc.path+paths[0])
				var p struct{ Code string }
				_ = json.Unmarshal(body, &p)
				if status != tc.status || ctype != "application/problem+json" ||
					!strings.HasPrefix(p.Code, "MELMASTOON.") || !strings.HasSuffix(p.Code, "."+tc.code) {
					t.Fatalf("%d %s %s, want %d …%s", status, ctype, body, tc.status, tc.code)
				}
			})
		}
		t.Run(svc+"/unknown route", func(t *testing.T) {
			t.Parallel()
			if status, _, _ := get(t, http.MethodGet, f.URL(svc)+prefix(harbour.ID, hp)+"/rooms"); status != 404 {
				t.Fatalf("status %d", status)
			}
		})
	}
	// Parameters.
	for _, u := range []string{
		f.URL(fleet.Reservation) + prefix(harbour.ID, hp) + "/today?date=2026-13-01",
		f.URL(fleet.Reservation) + prefix(harbour.ID, hp) + "/arrivals?date=23/11/2026",
		f.URL(fleet.Revenue) + prefix(harbour.ID, hp) + "/revenue?date=1969-12-31",
		f.URL(fleet.AIOrchestrator) + prefix(harbour.ID, hp) + "/suggestions?status=closed",
		f.URL(fleet.Notification) + prefix(harbour.ID, hp) + "/alerts?status=OPEN",
	} {
		if status, _, body := get(t, http.MethodGet, u); status != 400 {
			t.Errorf("GET %s: %d %s, want 400", u, status, body)
		}
	}
	// date defaults to the property's business date.
	_, _, a := get(t, http.MethodGet, f.URL(fleet.Reservation)+prefix(harbour.ID, hp)+"/today")
	_, _, b := get(t, http.MethodGet, f.URL(fleet.Reservation)+prefix(harbour.ID, hp)+"/today?date=2026-11-23")
	if !bytes.Equal(a, b) {
		t.Errorf("no date is not today:\n%s\n%s", a, b)
	}
}

func TestFaultsAndStatsOnEveryService(t *testing.T) {
	t.Parallel()
	f, ds := start(t)
	tn := ds.Tenants[0]
	for _, svc := range fleet.Names() {
		t.Run(svc, func(t *testing.T) {
			t.Parallel()
			base := f.URL(svc)
			path := prefix(tn.ID, tn.Properties[0].ID) + strings.SplitN(endpoints[svc][0], "?", 2)[0]
			post := func(body string) {
				t.Helper()
				resp, err := http.Post(base+"/__faults", "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					t.Fatalf("POST /__faults %s: %d", body, resp.StatusCode)
				}
			}
			post(`{"path":"/v1/","errorRate":1}`)
			if status, _, body := get(t, http.MethodGet, base+path); status != http.StatusServiceUnavailable {
				t.Fatalf("with errorRate 1: %d %s", status, body)
			}
			if status, _, _ := get(t, http.MethodDelete, base+"/__faults"); status != http.StatusNoContent {
				t.Fatalf("DELETE /__faults: %d", status)
			}
			if status, _, body := get(t, http.MethodGet, base+path); status != http.StatusOK {
				t.Fatalf("after DELETE /__faults: %d %s", status, body)
			}

			post(`{"path":"*","hang":true}`)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("a hung endpoint answered %d", resp.StatusCode)
			}
			f.Fake(svc).ClearFaults()

			var st struct {
				Requests map[string]int64 `json:"requests"`
			}
			getInto(t, base+"/__stats", &st)
			if got := st.Requests["GET "+path]; got != 3 {
				t.Fatalf("stats %v: want 3 GET %s", st.Requests, path)
			}
			if status, _, _ := get(t, http.MethodPost, base+"/__stats/reset"); status != http.StatusNoContent {
				t.Fatalf("reset: %d", status)
			}
			if n := f.Fake(svc).Count(http.MethodGet, path); n != 0 {
				t.Fatalf("count after reset: %d", n)
			}
		})
	}
}

// The equalities of docs/UPSTREAMS.md, and the ones the demo promises on
// top, over real HTTP at several times of day and dates.
func TestServicesAgree(t *testing.T) {
	t.Parallel()
	instants := []time.Time{
		scopedtest.Fixed,
		time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), // early morning in Canada
		time.Date(2026, 11, 24, 3, 30, 0, 0, time.UTC), // late evening
		time.Date(2027, 2, 27, 16, 45, 0, 0, time.UTC), // a Saturday in another month
		time.Date(2026, 7, 1, 23, 55, 0, 0, time.UTC),
	}
	for _, at := range instants {
		t.Run(at.Format(time.RFC3339), func(t *testing.T) {
			t.Parallel()
			f, ds := startAt(t, func() time.Time { return at })
			critical := 0
			for _, tn := range ds.Tenants {
				for _, p := range tn.Properties {
					critical += agree(t, f, tn.ID, &p)
				}
			}
			if critical != 1 {
				t.Errorf("%d properties with a critical alert, want 1", critical)
			}
		})
	}
}

// agree checks one property and returns its number of critical alerts.
func agree(t *testing.T, f *fleet.Fleet, tid string, p *demo.Property) int {
	t.Helper()
	P := prefix(tid, p.ID)
	var (
		today                   demo.TodayDoc
		arrivals, deps, inHouse demo.StaysDoc
		hk                      demo.HousekeepingBoardDoc
		mt                      demo.MaintenanceBoardDoc
		occ                     demo.OccupancyDoc
		rev                     demo.RevenueDoc
		sugg                    demo.SuggestionsDoc
		suggSum                 demo.SuggestionSummaryDoc
		alerts                  demo.AlertsDoc
		alertSum                demo.AlertSummaryDoc
		devices                 demo.DevicesDoc
	)
	getInto(t, f.URL(fleet.Reservation)+P+"/today", &today)
	date := today.Date
	getInto(t, f.URL(fleet.Reservation)+P+"/arrivals?date="+date, &arrivals)
	getInto(t, f.URL(fleet.Reservation)+P+"/departures?date="+date, &deps)
	getInto(t, f.URL(fleet.Reservation)+P+"/in-house", &inHouse)
	getInto(t, f.URL(fleet.Housekeeping)+P+"/housekeeping/board", &hk)
	getInto(t, f.URL(fleet.Maintenance)+P+"/maintenance/board", &mt)
	getInto(t, f.URL(fleet.Revenue)+P+"/occupancy?date="+date, &occ)
	getInto(t, f.URL(fleet.Revenue)+P+"/revenue?date="+date, &rev)
	getInto(t, f.URL(fleet.AIOrchestrator)+P+"/suggestions?status=open", &sugg)
	getInto(t, f.URL(fleet.AIOrchestrator)+P+"/suggestions/summary", &suggSum)
	getInto(t, f.URL(fleet.Notification)+P+"/alerts?status=open", &alerts)
	getInto(t, f.URL(fleet.Notification)+P+"/alerts/summary", &alertSum)
	getInto(t, f.URL(fleet.Sync)+P+"/devices/status", &devices)

	check := func(what string, want, got any) {
		t.Helper()
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: %s (-want +got):\n%s", p.Name, what, d)
		}
	}
	check("arrivals.expected = len(arrivals)", today.Arrivals.Expected, len(arrivals.Items))
	check("departures.expected = len(departures)", today.Departures.Expected, len(deps.Items))
	check("inHouse = len(in-house)", today.InHouse, len(inHouse.Items))
	check("roomsOccupied = inHouse", today.InHouse, occ.RoomsOccupied)
	check("occupancy roomsTotal = roomsTotal", today.RoomsTotal, occ.RoomsTotal)
	check("housekeeping rooms = roomsTotal", today.RoomsTotal, len(hk.Rooms))

	count := func(items []demo.StayDoc, status string) int {
		n := 0
		for _, s := range items {
			if s.Status == status {
				n++
			}
		}
		return n
	}
	check("arrivals.checkedIn", today.Arrivals.CheckedIn, count(arrivals.Items, demo.StayCheckedIn)+count(arrivals.Items, demo.StayCheckedOut))
	check("noShows", today.NoShows, count(arrivals.Items, demo.StayNoShow))
	check("departures.checkedOut", today.Departures.CheckedOut, count(deps.Items, demo.StayCheckedOut))

	occupied, ooo := map[string]bool{}, map[string]bool{}
	for _, r := range hk.Rooms {
		if r.Occupied {
			occupied[r.RoomNumber] = true
		}
		if r.Status == demo.RoomOutOfOrder {
			ooo[r.RoomNumber] = true
		}
	}
	inRooms := map[string]bool{}
	for _, s := range inHouse.Items {
		if inRooms[s.RoomNumber] {
			t.Errorf("%s: two guests in room %s", p.Name, s.RoomNumber)
		}
		inRooms[s.RoomNumber] = true
	}
	check("occupied rooms on the board = rooms of in-house guests", inRooms, occupied)
	check("summary.outOfOrder", len(ooo), hk.Summary.OutOfOrder)
	if today.RoomsAvailable > today.RoomsTotal-len(ooo) {
		t.Errorf("%s: %d rooms available with %d of %d out of order", p.Name, today.RoomsAvailable, len(ooo), today.RoomsTotal)
	}
	woRooms := map[string]bool{}
	for _, wo := range mt.WorkOrders {
		woRooms[wo.RoomNumber] = true
	}
	for r := range ooo {
		if !woRooms[r] {
			t.Errorf("%s: room %s is out of order without a work order", p.Name, r)
		}
	}

	currencies := map[string]bool{occ.ADR.Currency: true, occ.RevPAR.Currency: true, rev.RoomRevenue.Currency: true, rev.MonthToDate.Currency: true}
	for _, s := range append(inHouse.Items, arrivals.Items...) {
		currencies[s.BalanceDue.Currency] = true
	}
	check("currencies", map[string]bool{p.Currency(): true}, currencies)
	amount := func(m demo.Money) float64 {
		v, err := strconv.ParseFloat(m.Amount, 64)
		if err != nil {
			t.Errorf("%s: amount %q: %v", p.Name, m.Amount, err)
		}
		return v
	}
	if room, other, mtd := amount(rev.RoomRevenue), amount(rev.OtherRevenue), amount(rev.MonthToDate); room <= 0 || other <= 0 || mtd < room+other-0.005 {
		t.Errorf("%s: revenue %+v", p.Name, rev)
	}

	action := 0
	for _, s := range sugg.Items {
		if s.Severity == demo.SeverityActionRequired {
			action++
		}
	}
	check("suggestions summary", demo.SuggestionSummaryDoc{Open: len(sugg.Items), ActionRequired: action}, suggSum)

	critical := 0
	offline := map[string]bool{}
	seen := map[string]time.Time{}
	for _, d := range devices.Devices {
		seen[d.DeviceID] = d.LastSeenAt.Time
	}
	for _, a := range alerts.Items {
		switch a.Category {
		case "lock_failed":
			critical++
			room, _ := a.Payload["roomNumber"].(string)
			if !inRooms[room] {
				t.Errorf("%s: lock alert for room %s, which has no guest", p.Name, room)
			}
			urgent := slices.ContainsFunc(mt.WorkOrders, func(wo demo.WorkOrderDoc) bool {
				return wo.RoomNumber == room && wo.Priority == demo.PriorityUrgent
			})
			if !urgent {
				t.Errorf("%s: lock alert for room %s without an urgent work order", p.Name, room)
			}
		case "device_offline":
			id, _ := a.Payload["deviceId"].(string)
			offline[id] = true
			if _, ok := seen[id]; !ok {
				t.Errorf("%s: offline alert for device %s that sync-service does not list", p.Name, id)
			}
		}
	}
	check("alerts summary", demo.AlertSummaryDoc{Open: len(alerts.Items), Critical: critical}, alertSum)
	check("offline devices = device_offline alerts", devices.Summary.Offline, len(offline))
	check("devices summary adds up", len(devices.Devices), devices.Summary.Online+devices.Summary.Lagging+devices.Summary.Offline)
	return critical
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	t.Parallel()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleet.Start(ds)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Fake(fleet.Sync).SetFault(fakes.Fault{Path: "*", Hang: true}); err != nil {
		t.Fatal(err)
	}
	tn := ds.Tenants[0]
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(f.URL(fleet.Sync) + prefix(tn.ID, tn.Properties[0].ID) + "/devices/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		done <- err
	}()
	for f.Fake(fleet.Sync).InFlight() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a hanging request outlived Close")
	}
}
