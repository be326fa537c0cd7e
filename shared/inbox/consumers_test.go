package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

type delivery struct {
	fn consume.Func
	ev events.Envelope
}

func envelope(t *testing.T, subject, tenant, prop string, data any) events.Envelope {
	t.Helper()
	ev, err := events.New(subject, tenant, prop, data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestConsumersInAnyOrder applies the same deliveries (a duplicate among
// them) in every order and checks each order ends in the state one
// in-order delivery gives; the live-event notifier sees each change.
func TestConsumersInAnyOrder(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	ctx := context.Background()
	now := time.Now().UTC()
	prov := map[string]string{"model": "m", "modelVersion": "1", "promptVersion": "p", "modelClass": "cloud", "signatureFingerprint": "f"}
	suggestion := func(prop, id string) map[string]any {
		return map[string]any{"suggestionId": id, "propertyId": prop, "category": "rate_change", "severity": "attention",
			"createdAt": now.Format(time.RFC3339Nano), "expiresAt": now.Add(time.Hour).Format(time.RFC3339Nano),
			"title": "t " + id, "provenance": prov}
	}
	alert := func(prop, id string) map[string]any {
		return map[string]any{"alertId": id, "propertyId": prop, "severity": "warning", "category": "sync_lag",
			"raisedAt": now.Add(-time.Minute).Format(time.RFC3339Nano), "payload": map[string]int{"lagSeconds": 90}}
	}
	for _, order := range permutations(4) {
		tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
		var notified int
		d := inbox.Deps{Redis: rdb, DB: db, Cursors: cursors(t), Notify: func(_ context.Context, _, _, typ string, data any) error {
			notified++
			// A creation or a raise names its category, so live streams
			// can withhold it from roles that may not see it.
			m, _ := data.(map[string]any)
			if r := m["reason"]; (r == "created" || r == "raised") && m["category"] == nil {
				t.Errorf("%s push %v carries no category", typ, m)
			}
			return nil
		}}
		sg, al := inbox.NewSuggestions(d), inbox.NewAlerts(d, nil)
		// Mark both mirrors loaded (empty): only the events fill them.
		if err := sg.Put(ctx, tenant, prop, nil, true); err != nil {
			t.Fatal(err)
		}
		if err := al.Put(ctx, tenant, prop, nil, true); err != nil {
			t.Fatal(err)
		}
		created := envelope(t, events.AISuggestionCreated, tenant, prop, suggestion(prop, "sug-a"))
		sugs := []delivery{
			{sg.Created(), created},
			{sg.Invalidated(), envelope(t, events.AISuggestionInvalidated, tenant, prop, map[string]string{"suggestionId": "sug-a", "propertyId": prop})},
			{sg.Created(), envelope(t, events.AISuggestionCreated, tenant, prop, suggestion(prop, "sug-b"))},
			{sg.Created(), created}, // a redelivery
		}
		raised := envelope(t, events.NotificationAlertRaised, tenant, prop, alert(prop, "alr-x"))
		alerts := []delivery{
			{al.Raised(), raised},
			{al.Resolved(), envelope(t, events.NotificationAlertResolved, tenant, prop, map[string]string{"alertId": "alr-x", "propertyId": prop, "resolvedAt": now.Format(time.RFC3339Nano)})},
			{al.Raised(), envelope(t, events.NotificationAlertRaised, tenant, prop, alert(prop, "alr-y"))},
			{al.Raised(), raised},
		}
		for _, k := range order {
			for _, dl := range []delivery{sugs[k], alerts[k]} {
				if err := dl.fn(ctx, dl.ev); err != nil {
					t.Fatalf("order %v: %s: %v", order, dl.ev.Subject, err)
				}
			}
		}
		a := manager(tenant, prop)
		list, _ := everything(t, sg.Inbox, a, inbox.Query{Status: inbox.StatusAll}, 1)
		var got []string
		for _, e := range list {
			got = append(got, e.SuggestionID+"="+e.Status)
		}
		if fmt.Sprint(got) != "[sug-b=open]" {
			t.Fatalf("order %v: suggestions %v, want [sug-b=open]", order, got)
		}
		alist, _ := everything(t, al.Inbox, a, inbox.Query{Status: inbox.StatusAll}, 1)
		got = got[:0]
		for _, e := range alist {
			got = append(got, e.AlertID+"="+e.Status)
		}
		slices.Sort(got)
		if fmt.Sprint(got) != "[alr-x=resolved alr-y=open]" {
			t.Fatalf("order %v: alerts %v, want [alr-x=resolved alr-y=open]", order, got)
		}
		if notified != 8 {
			t.Fatalf("notifier called %d times, want once per delivery (8)", notified)
		}
	}
}

func TestConsumersRefusePoison(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	d := inbox.Deps{Redis: rdb}
	sg, al := inbox.NewSuggestions(d), inbox.NewAlerts(d, nil)
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	cases := []struct {
		name string
		fn   consume.Func
		ev   events.Envelope
	}{
		{"created without title", sg.Created(), events.Envelope{TenantID: tenant, PropertyID: prop, Data: raw(`{"suggestionId":"s","propertyId":"` + prop + `","createdAt":"2026-11-29T07:00:00.000Z","expiresAt":"2026-11-29T08:00:00.000Z"}`)}},
		{"created for another property", sg.Created(), events.Envelope{TenantID: tenant, PropertyID: ids.New(ids.Property), Data: raw(`{"suggestionId":"s","propertyId":"` + prop + `","title":"x","createdAt":"2026-11-29T07:00:00.000Z","expiresAt":"2026-11-29T08:00:00.000Z"}`)}},
		{"invalidated without id", sg.Invalidated(), events.Envelope{TenantID: tenant, Data: raw(`{"propertyId":"` + prop + `"}`)}},
		{"raised with a bad property", al.Raised(), events.Envelope{TenantID: tenant, Data: raw(`{"alertId":"a","propertyId":"nope","raisedAt":"2026-11-29T07:00:00.000Z"}`)}},
		{"resolved not an object", al.Resolved(), events.Envelope{TenantID: tenant, Data: raw(`[1]`)}},
	}
	for _, tc := range cases {
		if err := tc.fn(context.Background(), tc.ev); err == nil || !errors.Is(err, consume.ErrPoison) {
			t.Errorf("%s: %v, want a poison error", tc.name, err)
		}
	}
}
