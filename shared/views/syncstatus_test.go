package views_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// The dashboard's syncStatus is the property's devices as their
// heartbeats left them in Postgres (and their sessions in Redis): online,
// lagging (heard, offline actions waiting), offline (silent 5 min, or the
// session ended), the pending actions summed; other properties' devices,
// deleted devices and hints past 7 days do not count.
func TestDashboardSyncStatusFromDevices(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	clock := testenv.NewClock(now)
	dev := devices.New(devices.Deps{DB: db, Redis: rdb, Now: clock.Now})
	ctx := context.Background()
	a := operator(tenant.RoleFrontDesk)
	prop, other := a.PrimaryPropertyID, a.PropertyScope[0]

	beat := func(at time.Time, property string, open bool, pending ...int) actor.Actor {
		t.Helper()
		x := a
		x.DeviceID, x.SessionID = ids.New(ids.Device), ids.New(ids.Session)
		if open {
			if err := rdb.Set(ctx, rdb.KeyNames().Session(x.SessionID), `{"state":"open"}`, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
		hb := devices.Heartbeat{PropertyID: &property}
		if len(pending) > 0 {
			ps := []devices.Pending{}
			for i, n := range pending {
				ps = append(ps, devices.Pending{Aggregate: []string{"reservation", "folio"}[i%2], Count: n, OldestAgeSeconds: 30})
			}
			hb.Pending = &ps
		}
		clock.Set(at)
		if _, _, _, err := dev.Heartbeat(ctx, x, hb); err != nil {
			t.Fatal(err)
		}
		return x
	}
	beat(now.Add(-10*time.Second), prop, true)           // online
	beat(now.Add(-3*time.Minute), prop, true)            // idle: online too
	beat(now.Add(-20*time.Second), prop, true, 2, 1)     // lagging, 3 pending
	beat(now.Add(-10*time.Minute), prop, true, 4)        // offline, 4 pending
	beat(now.Add(-5*time.Second), prop, false)           // its session ended: offline
	beat(now.Add(-8*24*time.Hour), prop, true, 9)        // offline; its hint is past 7 days
	beat(now.Add(-5*time.Second), other, true, 7)        // another property
	gone := beat(now.Add(-5*time.Second), prop, true, 5) // deleted below
	if _, err := dev.Delete(ctx, a.TenantID, gone.DeviceID, now); err != nil {
		t.Fatal(err)
	}
	clock.Set(now)

	s := &views.Service{
		Composer: compose.New(rdb, compose.Options{}),
		Sources:  &views.Sources{Devices: dev},
		Calendar: &views.Calendar{Now: func() time.Time { return day }},
	}
	d := dashboardOf(t, ctx, s, a, prop)
	var got devices.SyncSummary
	if err := json.Unmarshal(d.Widgets[views.WSyncStatus], &got); err != nil {
		t.Fatalf("syncStatus %s: %v", d.Widgets[views.WSyncStatus], err)
	}
	want := devices.SyncSummary{Online: 2, Lagging: 1, Offline: 3, PendingActions: 7}
	if got != want || d.Staleness[views.WSyncStatus] != compose.Fresh {
		t.Fatalf("syncStatus = %+v (%s), want %+v fresh", got, d.Staleness[views.WSyncStatus], want)
	}

	// The other property's dashboard counts its own device only.
	d = dashboardOf(t, ctx, s, a, other)
	if err := json.Unmarshal(d.Widgets[views.WSyncStatus], &got); err != nil || got != (devices.SyncSummary{Online: 0, Lagging: 1, PendingActions: 7}) {
		t.Fatalf("other property's syncStatus = %+v, %v", got, err)
	}
}

// Without its store the widget is unavailable, never a failed dashboard.
func TestDashboardSyncStatusWithoutDevices(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	a := operator(tenant.RoleMaintenanceLead)
	d := dashboardOf(t, context.Background(), s, a, "")
	if d.Staleness[views.WSyncStatus] != compose.Unavailable || !d.Partial {
		t.Fatalf("staleness %v", d.Staleness)
	}
}
