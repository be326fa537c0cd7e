package housekeeping_test

// Calls against the real fake are in infra/fakes/housekeeping; these feed
// the client answers the fake never gives.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

var quiet = logging.WithLogger(context.Background(), slog.New(slog.DiscardHandler))

func TestConfig(t *testing.T) {
	t.Parallel()
	var cfg housekeeping.Config
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{
		"HOUSEKEEPING_SERVICE_URL": "http://127.0.0.1:9001", "HOUSEKEEPING_SERVICE_TIMEOUT": "250ms",
	}), &cfg); err != nil || cfg.Timeout != 250*time.Millisecond {
		t.Fatalf("%+v, %v", cfg, err)
	}
	var def housekeeping.Config
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{"HOUSEKEEPING_SERVICE_URL": "http://h"}), &def); err != nil || def.Timeout != 300*time.Millisecond {
		t.Fatalf("default timeout %v, %v; want 300ms", def.Timeout, err)
	}
	for _, c := range []housekeeping.Config{{URL: "", Timeout: time.Second}, {URL: "http://h", Timeout: -1}} {
		if _, err := housekeeping.NewClient(c); err == nil || !strings.Contains(err.Error(), "HOUSEKEEPING_SERVICE_") {
			t.Errorf("NewClient(%+v): %v", c, err)
		}
	}
}

func serve(t *testing.T, body string) *housekeeping.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := housekeeping.NewClient(housekeeping.Config{URL: srv.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBoardCleansRooms(t *testing.T) {
	t.Parallel()
	c := serve(t, `{"rooms":[
		{"roomNumber":"201","roomType":"King","status":"dirty","occupied":true,"assignee":"Léa","priority":"high","updatedAt":"2026-11-23T12:00:00Z"},
		{"roomNumber":"202","roomType":"King","status":"clean","occupied":false,"priority":"asap","updatedAt":"noon"},
		{"roomNumber":"","roomType":"King","status":"clean","occupied":false,"priority":"low","updatedAt":"2026-11-23T12:00:00Z"},
		{"roomNumber":"204","roomType":"King","status":"being_painted","occupied":false,"priority":"low","updatedAt":"2026-11-23T12:00:00Z"}
	],"summary":{"clean":1,"dirty":1,"inspected":0,"outOfOrder":0}}`)
	got, err := c.Board(quiet, ids.New(ids.Tenant), ids.New(ids.Property))
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
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b jsontime.Time) bool { return a.Equal(b.Time) })); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestBoardRefusesNegativeSummary(t *testing.T) {
	t.Parallel()
	c := serve(t, `{"rooms":[],"summary":{"clean":-1,"dirty":0,"inspected":0,"outOfOrder":0}}`)
	if _, err := c.Board(quiet, ids.New(ids.Tenant), ids.New(ids.Property)); apperr.CodeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE", err)
	}
}
