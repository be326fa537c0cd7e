package notification_test

// Calls against the real fake are in infra/fakes/notification; these feed
// the client answers the fake never gives.

import (
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
)

var tid, pid = upstreamtest.IDs()

var serve = upstreamtest.Serving("NOTIFICATION_SERVICE", notification.NewClient)

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
	got, err := serve(t, `{"items":[`+strings.Join(items, ",")+`]}`).Alerts(upstreamtest.Context(t), tid, pid, notification.StatusAll)
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
	if got, err := c.Alerts(upstreamtest.Context(t), tid, pid, ""); err != nil || got == nil {
		t.Fatalf("Alerts = %v, %v", got, err)
	}
	_, err := c.Alerts(upstreamtest.Context(t), tid, pid, "resolved")
	apperrtest.WantCode(t, err, apperr.ValidationFailed)
	if got, err := c.Summary(upstreamtest.Context(t), tid, pid); err != nil || got != (notification.Summary{Open: 2, Critical: 1}) {
		t.Fatalf("Summary = %+v, %v", got, err)
	}
	_, err = serve(t, `{"open":1,"critical":-1}`).Summary(upstreamtest.Context(t), tid, pid)
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
}
