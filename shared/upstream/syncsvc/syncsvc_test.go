package syncsvc_test

// Calls against the real fake are in infra/fakes/syncsvc; these feed the
// client answers the fake never gives.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
)

var quiet = logging.WithLogger(context.Background(), slog.New(slog.DiscardHandler))

func TestConfig(t *testing.T) {
	t.Parallel()
	var cfg syncsvc.Config
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{"SYNC_SERVICE_URL": "http://s"}), &cfg); err != nil || cfg.Timeout != 300*time.Millisecond {
		t.Fatalf("%+v, %v; want the 300ms default", cfg, err)
	}
	for _, c := range []syncsvc.Config{{URL: "", Timeout: time.Second}, {URL: "http://s", Timeout: 0}} {
		if _, err := syncsvc.NewClient(c); err == nil || !strings.Contains(err.Error(), "SYNC_SERVICE_") {
			t.Errorf("NewClient(%+v): %v", c, err)
		}
	}
}

func serve(t *testing.T, body string) *syncsvc.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := syncsvc.NewClient(syncsvc.Config{URL: srv.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDevicesStatusCleans(t *testing.T) {
	t.Parallel()
	good := ids.New(ids.Device)
	c := serve(t, `{"devices":[
		{"deviceId":"`+good+`","lastSeenAt":"2026-11-23T10:00:00Z","pendingPush":2,"lagSeconds":5},
		{"deviceId":"laptop-7","lastSeenAt":"2026-11-23T10:00:00Z","pendingPush":2,"lagSeconds":5},
		{"deviceId":"`+ids.New(ids.Device)+`","lastSeenAt":"never","pendingPush":2,"lagSeconds":5},
		{"deviceId":"`+ids.New(ids.Device)+`","lastSeenAt":"2026-11-23T10:00:00Z","pendingPush":-2,"lagSeconds":5}
	],"summary":{"online":1,"lagging":0,"offline":3}}`)
	got, err := c.DevicesStatus(quiet, ids.New(ids.Tenant), ids.New(ids.Property))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Devices) != 1 || got.Devices[0].DeviceID != good || got.Devices[0].PendingPush != 2 || got.Summary.Offline != 3 {
		t.Fatalf("DevicesStatus = %+v", got)
	}
	if _, err := serve(t, `{"devices":[],"summary":{"online":-1}}`).DevicesStatus(quiet, ids.New(ids.Tenant), ids.New(ids.Property)); apperr.CodeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("negative summary: %v", err)
	}
}
