package housekeeping_test

// Calls against the real fake are in infra/fakes/housekeeping; these feed
// the client answers the fake never gives.

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

var serve = upstreamtest.Serving("HOUSEKEEPING_SERVICE", housekeeping.NewClient)

func TestBoardCleansRooms(t *testing.T) {
	t.Parallel()
	c := serve(t, `{"rooms":[
		{"roomNumber":"201","roomType":"King","status":"dirty","occupied":true,"assignee":"Léa","priority":"high","updatedAt":"2026-11-23T12:00:00Z"},
		{"roomNumber":"202","roomType":"King","status":"clean","occupied":false,"priority":"asap","updatedAt":"noon"},
		{"roomNumber":"","roomType":"King","status":"clean","occupied":false,"priority":"low","updatedAt":"2026-11-23T12:00:00Z"},
		{"roomNumber":"204","roomType":"King","status":"being_painted","occupied":false,"priority":"low","updatedAt":"2026-11-23T12:00:00Z"}
	],"summary":{"clean":1,"dirty":1,"inspected":0,"outOfOrder":0}}`)
	got, err := c.Board(upstreamtest.Context(t), ids.New(ids.Tenant), ids.New(ids.Property))
	if err != nil {
		t.Fatal(err)
	}
	at, _ := wire.Instant("2026-11-23T12:00:00Z")
	want := housekeeping.Board{
		Rooms: []housekeeping.Room{
			{RoomNumber: "201", RoomType: "King", Status: housekeeping.StatusDirty, Occupied: true, Assignee: "Léa", Priority: housekeeping.PriorityHigh, UpdatedAt: at},
			{RoomNumber: "202", RoomType: "King", Status: housekeeping.StatusClean, Priority: housekeeping.PriorityNormal},
		},
		Summary: housekeeping.Summary{Clean: 1, Dirty: 1},
	}
	if d := cmp.Diff(want, got, upstreamtest.SameInstant); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestBoardRefusesNegativeSummary(t *testing.T) {
	t.Parallel()
	c := serve(t, `{"rooms":[],"summary":{"clean":-1,"dirty":0,"inspected":0,"outOfOrder":0}}`)
	_, err := c.Board(upstreamtest.Context(t), ids.New(ids.Tenant), ids.New(ids.Property))
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
}
