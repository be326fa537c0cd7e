package notification_test

// Calls against the real fake are in infra/fakes/notification; these feed
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

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
)

var (
	quiet = logging.WithLogger(context.Background(), slog.New(slog.DiscardHandler))
	tid   = ids.New(ids.Tenant)
	pid   = ids.New(ids.Property)
)

func TestConfig(t *testing.T) {
	t.Parallel()
	var cfg notification.Config
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{"NOTIFICATION_SERVICE_URL": "http://n"}), &cfg); err != nil || cfg.Timeout != 300*time.Millisecond {
		t.Fatalf("%+v, %v; want the 300ms default", cfg, err)
	}
	for _, c := range []notification.Config{{URL: "", Timeout: time.Second}, {URL: "http://n", Timeout: 0}} {
		if _, err := notification.NewClient(c); err == nil || !strings.Contains(err.Error(), "NOTIFICATION_SERVICE_") {
			t.Errorf("NewClient(%+v): %v", c, err)
		}
	}
}

func serve(t *testing.T, body string) *notification.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := notification.NewClient(notification.Config{URL: srv.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func alert(id, fields string) string {
	return `{"alertId":"` + id + `","propertyId":"` + pid + `","severity":"warning","category":"no_show",` +
		`"raisedAt":"2026-11-23T10:00:00Z","payload":{"reservationId":"rsv_x"}` + fields + `}`
}

func TestAlertsCleans(t *testing.T) {
	t.Parallel()
	items := []string{
		alert("a1", `,"severity":"critical","category":"lock_failed"`),
		alert("a2", `,"severity":"apocalyptic","category":"flood"`),
		alert("a3", `,"payload":"door 12"`),
		alert("a4", `,"payload":null`),
		alert("a5", `,"resolvedAt":"2026-11-23T09:00:00Z"`),
		alert("a6", `,"resolvedAt":"2026-11-23T11:00:00Z"`),
		alert("<script>", ``),
		strings.Replace(alert("a8", ``), pid, ids.New(ids.Property), 1),
		alert("a9", `,"raisedAt":""`),
	}
	got, err := serve(t, `{"items":[`+strings.Join(items, ",")+`]}`).Alerts(quiet, tid, pid, notification.StatusAll)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, a := range got {
		kept = append(kept, a.AlertID)
	}
	if strings.Join(kept, ",") != "a1,a2,a3,a4,a5,a6" {
		t.Fatalf("kept %v", kept)
	}
	a1, a2, a3, a4, a5, a6 := got[0], got[1], got[2], got[3], got[4], got[5]
	if a1.Severity != notification.SeverityCritical || a1.Category != notification.CategoryLockFailed || string(a1.Payload) != `{"reservationId":"rsv_x"}` {
		t.Errorf("a1 %+v", a1)
	}
	if a2.Severity != notification.SeverityWarning || a2.Category != notification.CategoryOther {
		t.Errorf("unknown severity and category: %+v", a2)
	}
	if string(a3.Payload) != `{}` || string(a4.Payload) != `{}` {
		t.Errorf("payloads %s %s, want {}", a3.Payload, a4.Payload)
	}
	if !a5.ResolvedAt.IsZero() || a6.ResolvedAt.IsZero() {
		t.Errorf("resolvedAt before raisedAt must be cleared, after kept: %v %v", a5.ResolvedAt, a6.ResolvedAt)
	}
}

func TestAlertsStatusAndSummary(t *testing.T) {
	t.Parallel()
	c := serve(t, `{"items":[],"open":2,"critical":1}`)
	if got, err := c.Alerts(quiet, tid, pid, ""); err != nil || got == nil {
		t.Fatalf("Alerts = %v, %v", got, err)
	}
	if _, err := c.Alerts(quiet, tid, pid, "resolved"); apperr.CodeOf(err) != apperr.ValidationFailed {
		t.Fatalf("unknown status: %v", err)
	}
	if got, err := c.Summary(quiet, tid, pid); err != nil || got != (notification.Summary{Open: 2, Critical: 1}) {
		t.Fatalf("Summary = %+v, %v", got, err)
	}
	if _, err := serve(t, `{"open":1,"critical":-1}`).Summary(quiet, tid, pid); apperr.CodeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("negative summary: %v", err)
	}
}
