package devices_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

type fixture struct {
	svc   *devices.Service
	db    *pg.DB
	info  testenv.PGInfo
	clock *testenv.Clock
}

// jobs is a bff_jobs pool on the fixture's database.
func (f *fixture) jobs(t *testing.T) *pg.DB { return testenv.JobsDB(t, f.info) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	cur, err := listcursor.New([]byte("devices-tests-cursor-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	svc := devices.New(devices.Deps{DB: db, Redis: rdb, Cursors: cur, Now: c.Now})
	return &fixture{svc: svc, db: db, info: info, clock: c}
}

func operator(tenant string, props ...string) actor.Actor {
	return actor.Actor{
		TenantID: tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session),
		Roles: []string{"front_desk"}, PropertyScope: props, RequestID: "req-test", Start: time.Now(),
	}
}

// anOperator is an operator of a tenant of its own, with one property of
// its own in scope.
func anOperator() actor.Actor { return operator(ids.New(ids.Tenant), ids.New(ids.Property)) }

// onDevice is a's operator on another device.
func onDevice(a actor.Actor) actor.Actor {
	a.DeviceID, a.SessionID = ids.New(ids.Device), ids.New(ids.Session)
	return a
}

// beat sends hb as a's heartbeat, failing the test if it is refused.
func (f *fixture) beat(t *testing.T, a actor.Actor, hb devices.Heartbeat) devices.Status {
	t.Helper()
	st, _, _, err := f.svc.Heartbeat(context.Background(), a, hb)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// wantNoneListed fails the test if a's first page of devices lists any;
// when says under what circumstances, for the failure.
func (f *fixture) wantNoneListed(t *testing.T, a actor.Actor, when string) {
	t.Helper()
	if page := f.list(t, a, devices.Query{}); len(page.Items) != 0 {
		t.Fatalf("devices listed %s: %+v, want none", when, page.Items)
	}
}

// list is a's page of devices for q, failing the test if it is refused.
func (f *fixture) list(t *testing.T, a actor.Actor, q devices.Query) listcursor.Page[devices.Status] {
	t.Helper()
	page, _, err := f.svc.List(context.Background(), a, q)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// execAs runs stmt on db as tenant, straight on the table, as no API call
// would.
func execAs(t *testing.T, db *pg.DB, tenant, stmt string, args ...any) {
	t.Helper()
	if err := db.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, stmt, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func at(t time.Time) *jsontime.Time { j := jsontime.Of(t); return &j }

func TestHeartbeatPatchSemantics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := anOperator()
	prop := a.PropertyScope[0]

	st, _, note, err := f.svc.Heartbeat(ctx, a, devices.Heartbeat{
		AppVersion: ptr("1.4.2"), AppPlatform: ptr("win32"), InstallerChannel: ptr("stable"), NetworkProfile: ptr("good"),
		Pending: &[]devices.Pending{{Aggregate: "reservation", Count: 3, OldestAgeSeconds: 40}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.PropertyID != prop || st.Status != devices.StatusOnline || *st.AppPlatform != "win32" || len(st.PendingHints) != 1 {
		t.Fatalf("first heartbeat = %+v", st)
	}
	if note.PropertyID != prop || note.Action == "" {
		t.Errorf("note = %+v", note)
	}
	f.clock.Add(time.Second)
	// Only the network changes; everything else is kept, the pending
	// summary included.
	st2 := f.beat(t, a, devices.Heartbeat{NetworkProfile: ptr("flaky")})
	if st2.ID != st.ID || *st2.NetworkProfile != "flaky" || *st2.AppVersion != "1.4.2" || len(st2.PendingHints) != 1 || !st2.LastHeartbeatAt.After(st.LastHeartbeatAt.Time) {
		t.Fatalf("patch heartbeat = %+v", st2)
	}
	// An empty pending list clears the summary.
	st3 := f.beat(t, a, devices.Heartbeat{Pending: &[]devices.Pending{}})
	if len(st3.PendingHints) != 0 {
		t.Errorf("pending after clearing = %+v", st3.PendingHints)
	}
}

func TestHeartbeatValidationAndScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := anOperator()
	for name, tc := range map[string]struct {
		hb   devices.Heartbeat
		code apperr.Code
	}{
		"other property":      {devices.Heartbeat{PropertyID: ptr(ids.New(ids.Property))}, apperr.PropertyOutOfScope},
		"malformed property":  {devices.Heartbeat{PropertyID: ptr("prp_nope")}, apperr.ValidationFailed},
		"platform":            {devices.Heartbeat{AppPlatform: ptr("beos")}, apperr.ValidationFailed},
		"future sentAt":       {devices.Heartbeat{SentAt: at(f.clock.Now().Add(time.Hour))}, apperr.ValidationFailed},
		"negative count":      {devices.Heartbeat{Pending: &[]devices.Pending{{Aggregate: "folio", Count: -1}}}, apperr.ValidationFailed},
		"duplicate aggregate": {devices.Heartbeat{Pending: &[]devices.Pending{{Aggregate: "folio"}, {Aggregate: "folio"}}}, apperr.ValidationFailed},
		"too many":            {devices.Heartbeat{Pending: ptr(make([]devices.Pending, devices.MaxPending+1))}, apperr.ValidationFailed},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := f.svc.Heartbeat(context.Background(), a, tc.hb)
			apperrtest.WantCode(t, err, tc.code)
		})
	}
	f.wantNoneListed(t, a, "after refused heartbeats")
}

// Heartbeats delivered newest first, and then all at once in random order,
// leave the newest one's state.
func TestHeartbeatsOutOfOrderKeepTheNewest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := anOperator()
	base := f.clock.Now().Add(-time.Minute)
	const n = 20
	hb := func(i int) devices.Heartbeat {
		return devices.Heartbeat{SentAt: at(base.Add(time.Duration(i) * time.Second)), AppVersion: ptr("1.0." + strconv.Itoa(i)),
			Pending: &[]devices.Pending{{Aggregate: "reservation", Count: i}}}
	}
	for i := n - 1; i >= 0; i-- {
		st := f.beat(t, a, hb(i))
		if *st.AppVersion != "1.0.19" {
			t.Fatalf("after heartbeat %d the device reports %s, want the newest 1.0.19", i, *st.AppVersion)
		}
	}
	// A second device, concurrently and shuffled.
	b := onDevice(a)
	order := rand.Perm(n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, i := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _, err := f.svc.Heartbeat(ctx, b, hb(i))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	page := f.list(t, a, devices.Query{})
	if len(page.Items) != 2 {
		t.Fatalf("devices = %d, want 2", len(page.Items))
	}
	for _, st := range page.Items {
		if *st.AppVersion != "1.0.19" || st.PendingHints[0].Count != 19 {
			t.Errorf("device %s ends at %s / %+v, want the newest heartbeat's", st.DeviceID, *st.AppVersion, st.PendingHints)
		}
	}
}

// A deleted device's heartbeats are refused and change nothing.
func TestHeartbeatAfterTombstoneIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := anOperator()
	f.beat(t, a, devices.Heartbeat{AppVersion: ptr("1.0.0")})
	execAs(t, f.db, a.TenantID, `UPDATE bff.device_sync SET deleted_at = now() WHERE device_id = $1`, a.DeviceID)
	if err := f.svc.DropHot(ctx, a.TenantID, a.DeviceID); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Second)
	_, _, _, err := f.svc.Heartbeat(ctx, a, devices.Heartbeat{AppVersion: ptr("2.0.0")})
	apperrtest.WantCode(t, err, apperr.NotFound)
	f.wantNoneListed(t, a, "after the device's deletion")
}

func TestListDerivesStatusAndPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p1, p2 := ids.New(ids.Property), ids.New(ids.Property)
	tenant := ids.New(ids.Tenant)
	reader := operator(tenant, p1, p2)
	const n = 7
	ages := []time.Duration{0, 30 * time.Second, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, time.Hour, 0}
	want := map[string]string{}
	for i := range n {
		a := operator(tenant, p1)
		f.beat(t, a, devices.Heartbeat{})
		// Age the row: status derives from last_heartbeat_at.
		execAs(t, f.db, tenant, `UPDATE bff.device_sync SET last_heartbeat_at = last_heartbeat_at - $2::interval WHERE device_id = $1`, a.DeviceID, ages[i].String())
		// Sessions are not stored in this test's Redis: every device
		// reads as stale_session, except when an open session is there.
		want[a.DeviceID] = devices.StatusStaleSession
	}
	// Another property's device is not listed.
	f.beat(t, operator(tenant, p2), devices.Heartbeat{PropertyID: &p2})
	var got []devices.Status
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("too many pages")
		}
		page := f.list(t, reader, devices.Query{PropertyID: p1, Limit: "3", Cursor: cursor})
		got = append(got, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(got) != n {
		t.Fatalf("listed %d devices, want %d", len(got), n)
	}
	for i, st := range got {
		if i > 0 && got[i-1].DeviceID >= st.DeviceID {
			t.Errorf("not in device order at %d", i)
		}
		if want[st.DeviceID] != st.Status {
			t.Errorf("%s status %s, want %s", st.DeviceID, st.Status, want[st.DeviceID])
		}
	}
	// A cursor is bound to its property.
	page := f.list(t, reader, devices.Query{PropertyID: p1, Limit: "3"})
	for _, tc := range []struct {
		name string
		who  actor.Actor
		q    devices.Query
		code apperr.Code
	}{
		{"cursor of p1 used on p2", reader, devices.Query{PropertyID: p2, Cursor: page.NextCursor}, apperr.ValidationFailed},
		{"limit 201", reader, devices.Query{Limit: "201"}, apperr.ValidationFailed},
		{"out of scope", operator(tenant, p2), devices.Query{PropertyID: p1}, apperr.PropertyOutOfScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.List(ctx, tc.who, tc.q)
			apperrtest.WantCode(t, err, tc.code)
		})
	}
}

func TestDeriveStatus(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for age, want := range map[time.Duration]string{
		0: devices.StatusOnline, 59 * time.Second: devices.StatusOnline, time.Minute: devices.StatusIdle,
		299 * time.Second: devices.StatusIdle, 5 * time.Minute: devices.StatusOffline, 48 * time.Hour: devices.StatusOffline,
	} {
		if got := devices.Derive(devices.Status{LastHeartbeatAt: jsontime.Of(now.Add(-age))}, now, true); got != want {
			t.Errorf("age %s: %s, want %s", age, got, want)
		}
	}
	if got := devices.Derive(devices.Status{LastHeartbeatAt: jsontime.Of(now)}, now, false); got != devices.StatusStaleSession {
		t.Errorf("ended session: %s", got)
	}
}

// A hint shows to the same operator on another device, never on the
// device that reported it, never to another operator (even a manager of
// the same property), and not after 7 days.
func TestHintsOnlyForTheSameOperatorsOtherDevices(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	prop := ids.New(ids.Property)
	tenant := ids.New(ids.Tenant)
	laptop := operator(tenant, prop)
	desk := onDevice(laptop)
	other := operator(tenant, prop)
	other.Roles = []string{"manager", "admin"}
	pending := &[]devices.Pending{{Aggregate: "reservation", Count: 2, OldestAgeSeconds: 90}}
	f.beat(t, laptop, devices.Heartbeat{Pending: pending})
	f.beat(t, other, devices.Heartbeat{Pending: pending})
	h, _, err := f.svc.Hints(ctx, desk)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Items) != 1 || h.Items[0].DeviceID != laptop.DeviceID || h.Items[0].Pending[0].Count != 2 {
		t.Fatalf("hints on the other device = %+v", h.Items)
	}
	if h, _, _ := f.svc.Hints(ctx, laptop); len(h.Items) != 0 {
		t.Errorf("the reporting device sees its own hint: %+v", h.Items)
	}
	otherDesk := onDevice(other)
	h, _, err = f.svc.Hints(ctx, otherDesk)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range h.Items {
		if it.DeviceID == laptop.DeviceID {
			t.Errorf("another operator sees the hint of %s", laptop.DeviceID)
		}
	}
	// Another tenant's operator with the same ids sees nothing (RLS).
	stranger := desk
	stranger.TenantID = ids.New(ids.Tenant)
	if h, _, _ := f.svc.Hints(ctx, stranger); len(h.Items) != 0 {
		t.Errorf("another tenant sees hints: %+v", h.Items)
	}
	f.clock.Add(devices.HintRetention + time.Minute)
	if h, _, _ := f.svc.Hints(ctx, desk); len(h.Items) != 0 {
		t.Errorf("hint older than 7 days still shown: %+v", h.Items)
	}
}

// Delete leaves a tombstone that refuses later heartbeats, returns every
// operator seen on the device, and is idempotent; a device never seen gets
// a tombstone too.
func TestDeleteTombstonesAndNamesOperators(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := anOperator()
	b := operator(a.TenantID, a.PropertyScope...)
	b.DeviceID = a.DeviceID // a shared terminal
	for _, x := range []actor.Actor{a, b, a} {
		f.clock.Add(time.Second)
		f.beat(t, x, devices.Heartbeat{Pending: &[]devices.Pending{{Aggregate: "folio", Count: 1, OldestAgeSeconds: 5}}})
	}
	for range 2 {
		ops, err := f.svc.Delete(ctx, a.TenantID, a.DeviceID, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		// The tombstone keeps no offline hint: no later update could
		// clear it when its 7 days pass.
		var hint bool
		if err := f.db.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT hint_id IS NOT NULL OR pending IS NOT NULL OR pending_reported_at IS NOT NULL
  FROM bff.device_sync WHERE device_id = $1`, a.DeviceID).Scan(&hint)
		}); err != nil || hint {
			t.Fatalf("the tombstone keeps a hint (%v)", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) != 2 || ops[0] != a.OperatorID || ops[1] != b.OperatorID {
			t.Fatalf("operators of the deleted device = %v, want [%s %s]", ops, a.OperatorID, b.OperatorID)
		}
	}
	f.clock.Add(time.Second)
	_, _, _, err := f.svc.Heartbeat(ctx, a, devices.Heartbeat{})
	apperrtest.WantCode(t, err, apperr.NotFound)
	never := onDevice(a)
	if ops, err := f.svc.Delete(ctx, a.TenantID, never.DeviceID, f.clock.Now()); err != nil || len(ops) != 0 {
		t.Fatalf("deleting an unseen device: %v, %v", ops, err)
	}
	// A device deleted before it ever reported is refused from its first heartbeat.
	_, _, _, err = f.svc.Heartbeat(ctx, never, devices.Heartbeat{})
	apperrtest.WantCode(t, err, apperr.NotFound)
}
