package revenue_test

// Calls against the real fake are in infra/fakes/revenue; these feed the
// client answers the fake never gives.

import (
	"context"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/upstream/revenue"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
)

var tid, pid = upstreamtest.IDs()

const date = "2026-11-23"

var serve = upstreamtest.Serving("REVENUE_SERVICE", revenue.NewClient)

const (
	occupancy = `{"date":"2026-11-23","roomsTotal":90,"roomsOccupied":45,"occupancyPct":50,"adr":{"amount":"200.00","currency":"CAD"},"revpar":{"amount":"100.00","currency":"CAD"}}`
	rev       = `{"date":"2026-11-23","roomRevenue":{"amount":"9000.00","currency":"EUR"},"otherRevenue":{"amount":"1200.50","currency":"EUR"},"monthToDate":{"amount":"210000.00","currency":"EUR"}}`
)

func TestDecodes(t *testing.T) {
	t.Parallel()
	o, err := serve(t, occupancy).Occupancy(context.Background(), tid, pid, date)
	if err != nil || o.RoomsOccupied != 45 || o.OccupancyPct != 50 || o.ADR.Amount != "200.00" || o.RevPAR.Currency != "CAD" {
		t.Fatalf("Occupancy = %+v, %v", o, err)
	}
	r, err := serve(t, rev).Revenue(context.Background(), tid, pid, date)
	if err != nil || r.OtherRevenue.Amount != "1200.50" || r.MonthToDate.Currency != "EUR" {
		t.Fatalf("Revenue = %+v, %v", r, err)
	}
}

func TestRefusesBrokenFigures(t *testing.T) {
	t.Parallel()
	occ := func(c *revenue.Client) error { _, err := c.Occupancy(context.Background(), tid, pid, date); return err }
	rv := func(c *revenue.Client) error { _, err := c.Revenue(context.Background(), tid, pid, date); return err }
	upstreamtest.RefusesBroken(t, serve, []upstreamtest.Broken[*revenue.Client]{
		{Name: "another date", Body: strings.Replace(occupancy, "2026-11-23", "2026-11-22", 1), Call: occ},
		{Name: "over 100%", Body: strings.Replace(occupancy, `"occupancyPct":50`, `"occupancyPct":104.5`, 1), Call: occ},
		{Name: "negative rooms", Body: strings.Replace(occupancy, `"roomsOccupied":45`, `"roomsOccupied":-45`, 1), Call: occ},
		{Name: "float money", Body: strings.Replace(occupancy, `"amount":"200.00"`, `"amount":200`, 1), Call: occ},
		{Name: "mixed currencies", Body: strings.Replace(occupancy, `"currency":"CAD"}}`, `"currency":"USD"}}`, 1), Call: occ},
		{Name: "revenue for another date", Body: strings.Replace(rev, "2026-11-23", "2026-10-23", 1), Call: rv},
		{Name: "not money", Body: strings.Replace(rev, `"1200.50"`, `"twelve hundred"`, 1), Call: rv},
		{Name: "missing money", Body: `{"date":"2026-11-23"}`, Call: rv},
	})
}
