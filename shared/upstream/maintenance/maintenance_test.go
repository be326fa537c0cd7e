package maintenance_test

// Calls against the real fake are in infra/fakes/maintenance; these feed
// the client answers the fake never gives.

import (
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/maintenance"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
)

var serve = upstreamtest.Serving("MAINTENANCE_SERVICE", maintenance.NewClient)

func TestBoardCleansWorkOrders(t *testing.T) {
	t.Parallel()
	good := ids.New("wo")
	c := serve(t, `{"workOrders":[
		{"id":"`+good+`","roomNumber":"<img>","title":"Leak\u0000 in 204","priority":"p0","status":"open","reportedAt":"2026-11-23T08:00:00Z"},
		{"id":"WO-17","title":"x","priority":"low","status":"open","reportedAt":"2026-11-23T08:00:00Z"},
		{"id":"`+ids.New("wo")+`","title":"x","priority":"low","status":"cancelled","reportedAt":"2026-11-23T08:00:00Z"},
		{"id":"`+ids.New("wo")+`","title":"x","priority":"low","status":"open","reportedAt":"last week"}
	],"summary":{"open":3,"inProgress":0,"urgent":0}}`)
	got, err := c.Board(upstreamtest.Context(t), ids.New(ids.Tenant), ids.New(ids.Property))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.WorkOrders) != 1 {
		t.Fatalf("kept %+v, want only the first", got.WorkOrders)
	}
	wo := got.WorkOrders[0]
	if wo.ID != good || wo.RoomNumber != "" || wo.Title != "Leak in 204" || wo.Priority != maintenance.PriorityNormal || wo.ReportedAt.IsZero() {
		t.Fatalf("work order %+v", wo)
	}
	if got.Summary.Open != 3 {
		t.Fatalf("summary %+v: the upstream's summary is kept", got.Summary)
	}
}

func TestBoardRefusesNegativeSummary(t *testing.T) {
	t.Parallel()
	c := serve(t, `{"workOrders":[],"summary":{"open":0,"inProgress":0,"urgent":-3}}`)
	_, err := c.Board(upstreamtest.Context(t), ids.New(ids.Tenant), ids.New(ids.Property))
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
}
