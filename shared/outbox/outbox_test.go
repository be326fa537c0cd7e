package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestAddCommitsAndRollsBackWithItsTransaction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)

	committed := []events.Envelope{newEvent(t, events.AISuggestionDecided, tenant, 1), newEvent(t, events.AlertAcknowledged, tenant, 2)}
	f.commit(t, tenant, committed...)
	rolledBack := newEvent(t, events.AISuggestionDecided, tenant, 3)
	boom := errors.New("the write failed after Add")
	if err := write(ctx, f.app, tenant, boom, rolledBack); !errors.Is(err, boom) {
		t.Fatalf("write = %v, want %v", err, boom)
	}

	rows := f.rows(t)
	if diff := cmp.Diff(idsOf(committed), f.rowIDs(t)); diff != "" {
		t.Fatalf("outbox ids (-want +got):\n%s", diff)
	}
	for _, r := range rows {
		i := slices.IndexFunc(committed, func(e events.Envelope) bool { return e.ID == r.ID })
		want := committed[i]
		if r.Tenant != tenant || r.Subject != want.Subject || r.Attempts != 0 || r.LastError != nil {
			t.Errorf("row %+v", r)
		}
		// The stored bytes are the message data the bus will get.
		if got := string(r.Envelope); got != marshal(t, want) {
			t.Errorf("envelope of %s = %s, want %s", r.ID, got, marshal(t, want))
		}
	}
	var activity int
	if err := f.admin.QueryRow(ctx, "SELECT count(*) FROM bff.operator_activity").Scan(&activity); err != nil {
		t.Fatal(err)
	}
	if activity != 1 {
		t.Errorf("ledger rows = %d, want 1 (the rolled-back write left none)", activity)
	}
}

func TestAddRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tenant, other := ids.New(ids.Tenant), ids.New(ids.Tenant)

	invalid := newEvent(t, events.AISuggestionDecided, tenant, 1)
	invalid.Data = []byte(`[1]`)
	cases := []struct {
		name    string
		evs     []events.Envelope
		wantErr string
	}{
		{"an invalid envelope", []events.Envelope{invalid}, "data must be a JSON object"},
		{"another tenant's event", []events.Envelope{newEvent(t, events.AISuggestionDecided, other, 1)}, "transaction's tenant is not " + other},
		{"events of two tenants", []events.Envelope{newEvent(t, events.AISuggestionDecided, tenant, 1), newEvent(t, events.AISuggestionDecided, other, 2)}, "events of tenants"},
	}
	for _, tc := range cases {
		err := f.app.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			err := outbox.Add(ctx, tx, tc.evs...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: Add = %v, want an error containing %q", tc.name, err, tc.wantErr)
			}
			// The refusal leaves the caller's transaction usable: it
			// decides what to do with its write.
			_, err = tx.Exec(ctx, "SELECT 1")
			return err
		})
		if err != nil {
			t.Errorf("%s: transaction after a refused Add: %v", tc.name, err)
		}
	}

	// A transaction without a tenant (not InTenantTx) stores nothing.
	tx, err := f.app.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := outbox.Add(ctx, tx, newEvent(t, events.AISuggestionDecided, tenant, 1)); err == nil {
		t.Error("Add outside a tenant transaction succeeded")
	}
	f.wantEmpty(t, "after refusals")
}

func TestSendPublishesAndRemovesRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	subjects := []string{events.AISuggestionDecided, events.AlertAcknowledged}
	subs := f.subscribe(t, subjects...)
	relay := f.relay(t)

	tenants := []string{ids.New(ids.Tenant), ids.New(ids.Tenant)}
	var all []events.Envelope
	for ti, tenant := range tenants {
		var evs []events.Envelope
		for i := range 5 {
			evs = append(evs, newEvent(t, subjects[(ti+i)%2], tenant, i))
		}
		f.commit(t, tenant, evs...)
		relay.Send(ctx, tenant, evs...)
		all = append(all, evs...)
	}
	f.wantEmpty(t, "after Send")
	got := f.receive(t, subs, idsOf(all))
	if got.total() != len(all) {
		t.Errorf("received %d messages for %d events: %v", got.total(), len(all), got.count)
	}
	for _, e := range all {
		m := got.msgs[e.ID]
		if m == nil {
			t.Errorf("event %s never arrived", e.ID)
			continue
		}
		if string(m.GetData()) != marshal(t, e) {
			t.Errorf("data of %s = %s", e.ID, m.GetData())
		}
		if diff := cmp.Diff(map[string]string{"subject": e.Subject, "tenantId": e.TenantID}, m.GetAttributes()); diff != "" {
			t.Errorf("attributes of %s (-want +got):\n%s", e.ID, diff)
		}
	}
}

// A batch Pub/Sub accepts only in part keeps exactly the failed rows: here
// one subject has no topic (a deploy mistake), so its event fails NotFound.
func TestSendKeepsOnlyWhatFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	subs := f.subscribe(t, events.AISuggestionDecided)
	relay := f.relay(t)
	tenant := ids.New(ids.Tenant)

	good := newEvent(t, events.AISuggestionDecided, tenant, 1)
	noTopic := newEvent(t, events.LockActionProxied, tenant, 2)
	f.commit(t, tenant, good, noTopic)
	relay.Send(ctx, tenant, good, noTopic)

	if diff := cmp.Diff([]string{noTopic.ID}, f.rowIDs(t)); diff != "" {
		t.Errorf("outbox after a partial publish (-want +got):\n%s", diff)
	}
	if got := f.receive(t, subs, []string{good.ID}); got.total() != 1 {
		t.Errorf("received %v, want %s once", got.count, good.ID)
	}
}

// The outage test: with Pub/Sub unreachable, writes still commit with their
// events, Send returns within its bound and loses nothing, and a Drain tried
// during the outage only backs off; once the bus is back, Drain publishes
// every event and empties the outbox.
func TestPubSubOutageLosesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	subjects := []string{events.AISuggestionDecided, events.AlertAcknowledged}
	subs := f.subscribe(t, subjects...)
	bus := testenv.NewBusProxy(t, testenv.PubsubHost(t))

	// The relay's publisher connects while the bus is up, as an instance
	// that was serving before the outage would.
	relayPub := viaProxy(t, f.project, bus.Addr)
	const publishTimeout = 500 * time.Millisecond
	relay := outbox.NewRelay(f.app, relayPub, logtest.TestLogger(t), outbox.Options{PublishTimeout: publishTimeout})
	warm := newEvent(t, events.AISuggestionDecided, ids.New(ids.Tenant), 0)
	f.commit(t, warm.TenantID, warm)
	relay.Send(ctx, warm.TenantID, warm)
	if !f.wantEmpty(t, "after Send with the bus up") {
		t.FailNow()
	}

	bus.Down()
	var written []events.Envelope
	for i := range 6 {
		tenant := ids.New(ids.Tenant)
		evs := []events.Envelope{newEvent(t, subjects[i%2], tenant, i), newEvent(t, subjects[(i+1)%2], tenant, i)}
		if err := write(ctx, f.app, tenant, nil, evs...); err != nil {
			t.Fatalf("write %d with Pub/Sub down: %v", i, err)
		}
		start := time.Now()
		relay.Send(ctx, tenant, evs...)
		// A bound, not a performance figure: Send must not hang on a dead bus.
		if took := time.Since(start); took > publishTimeout+outbox.DefaultCleanupTimeout+3*time.Second {
			t.Errorf("Send with Pub/Sub down took %v (publish bound %v)", took, publishTimeout)
		}
		written = append(written, evs...)
	}
	if diff := cmp.Diff(idsOf(written), f.rowIDs(t)); diff != "" {
		t.Fatalf("outbox after Sends during the outage (-want +got):\n%s", diff)
	}

	// A relay run during the outage publishes nothing and says so.
	downPub := viaProxy(t, f.project, bus.Addr)
	st, err := outbox.Drain(ctx, f.jobs, downPub, outbox.DrainOptions{
		MinAge: -1, PublishTimeout: time.Second, RetryBase: time.Millisecond, RetryMax: time.Millisecond, Log: logtest.TestLogger(t),
	})
	if !errors.Is(err, outbox.ErrNothingPublished) || st.Published != 0 || st.Failed != len(written) {
		t.Fatalf("Drain with Pub/Sub down = %+v, %v; want %d failed and ErrNothingPublished", st, err, len(written))
	}
	for _, r := range f.rows(t) {
		if r.Attempts != 1 || r.LastError == nil || !strings.HasPrefix(*r.LastError, "publish: ") {
			t.Errorf("row after a failed drain: attempts=%d last_error=%v", r.Attempts, r.LastError)
		}
	}
	// Closed before the bus returns, so nothing these clients gave up on
	// can still arrive and blur the count below.
	_ = downPub.Close()
	_ = relayPub.Close()

	bus.Up()
	upPub := viaProxy(t, f.project, bus.Addr)
	t.Cleanup(func() { _ = upPub.Close() })
	st, err = outbox.Drain(ctx, f.jobs, upPub, outbox.DrainOptions{MinAge: -1, Log: logtest.TestLogger(t)})
	if err != nil || st.Published != len(written) || st.Failed != 0 || st.Poison != 0 {
		t.Fatalf("Drain after the outage = %+v, %v; want %d published", st, err, len(written))
	}
	f.wantEmpty(t, "after the drain")
	got := f.receive(t, subs, append(idsOf(written), warm.ID))
	for _, e := range written {
		if got.count[e.ID] != 1 {
			t.Errorf("event %s delivered %d times, want 1", e.ID, got.count[e.ID])
		} else if string(got.msgs[e.ID].GetData()) != marshal(t, e) {
			t.Errorf("event %s arrived as %s", e.ID, got.msgs[e.ID].GetData())
		}
	}
}

// Concurrent Drains over one backlog: every row published, the outbox
// empty, and — without a crash between publish and commit — no row
// published by two drains.
func TestConcurrentDrainsPublishEachRowOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	subjects := []string{events.AISuggestionDecided, events.AlertAcknowledged, events.LockActionProxied}
	subs := f.subscribe(t, subjects...)

	const tenants, perTenant = 6, 40
	var all []events.Envelope
	for ti := range tenants {
		tenant := ids.New(ids.Tenant)
		var evs []events.Envelope
		for i := range perTenant {
			evs = append(evs, newEvent(t, subjects[(ti+i)%len(subjects)], tenant, i))
		}
		f.commit(t, tenant, evs...)
		all = append(all, evs...)
	}

	const drains = 4
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total outbox.DrainStats
		errs  []error
	)
	for range drains {
		pub := newPublisher(t, f.project) // one per instance, as deployed
		wg.Go(func() {
			st, err := outbox.Drain(ctx, f.jobs, pub, outbox.DrainOptions{BatchSize: 7, MinAge: -1, Log: logtest.TestLogger(t)})
			mu.Lock()
			defer mu.Unlock()
			total.Batches += st.Batches
			total.Published += st.Published
			total.Failed += st.Failed
			total.Poison += st.Poison
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Drain errors: %v", errs)
	}
	if total.Published != len(all) || total.Failed != 0 || total.Poison != 0 {
		t.Errorf("drains together = %+v, want exactly %d published", total, len(all))
	}
	f.wantEmpty(t, "after the drains")
	got := f.receive(t, subs, idsOf(all))
	if got.total() != len(all) {
		var dup []string
		for id, n := range got.count {
			if n > 1 {
				dup = append(dup, fmt.Sprintf("%s×%d", id, n))
			}
		}
		t.Errorf("received %d messages for %d events; duplicates: %v", got.total(), len(all), dup)
	}
}

// A row locked by another relay run (in the middle of publishing it) is
// skipped, not waited for and not published a second time.
func TestDrainSkipsRowsAnotherRunHolds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	subs := f.subscribe(t, events.AISuggestionDecided)
	tenant := ids.New(ids.Tenant)
	var evs []events.Envelope
	for i := range 4 {
		evs = append(evs, newEvent(t, events.AISuggestionDecided, tenant, i))
	}
	f.commit(t, tenant, evs...)
	held := evs[1].ID
	lockTx, err := f.jobs.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lockTx.Rollback(ctx)
	if _, err := lockTx.Exec(ctx, "SELECT 1 FROM bff.outbox WHERE id = $1 FOR UPDATE", held); err != nil {
		t.Fatal(err)
	}

	st, err := outbox.Drain(ctx, f.jobs, newPublisher(t, f.project), outbox.DrainOptions{MinAge: -1, Log: logtest.TestLogger(t)})
	if err != nil || st.Published != 3 {
		t.Fatalf("Drain = %+v, %v; want the 3 unlocked rows published", st, err)
	}
	if diff := cmp.Diff([]string{held}, f.rowIDs(t)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	var others []string
	for _, e := range evs {
		if e.ID != held {
			others = append(others, e.ID)
		}
	}
	if got := f.receive(t, subs, others); got.count[held] != 0 || got.total() != 3 {
		t.Errorf("received %v", got.count)
	}
}

// Rows younger than MinAge are left to the Send that is publishing them.
func TestDrainLeavesYoungRowsToSend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.subscribe(t, events.AISuggestionDecided)
	tenant := ids.New(ids.Tenant)
	e := newEvent(t, events.AISuggestionDecided, tenant, 1)
	f.commit(t, tenant, e)
	st, err := outbox.Drain(ctx, f.jobs, newPublisher(t, f.project), outbox.DrainOptions{Log: logtest.TestLogger(t)})
	if err != nil || st != (outbox.DrainStats{}) {
		t.Errorf("Drain with the default MinAge = %+v, %v; want nothing done", st, err)
	}
	if diff := cmp.Diff([]string{e.ID}, f.rowIDs(t)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
}

// Poison rows (an envelope that no longer validates, or one that disagrees
// with its row) are counted, backed off and kept; they never stop the rows
// behind them.
func TestDrainBacksOffPoisonRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	subs := f.subscribe(t, events.AISuggestionDecided)
	tenant := ids.New(ids.Tenant)

	// Poison goes in first (oldest), as the superuser: no code path of ours
	// writes such rows.
	badJSON := ids.New(ids.Event)
	mismatched := newEvent(t, events.AISuggestionDecided, tenant, 0)
	for _, r := range []struct {
		id, tenant string
		envelope   []byte
	}{
		{badJSON, tenant, []byte(`{"id":"` + badJSON + `","subject":"x"}`)},
		// A valid envelope filed under another tenant's row.
		{mismatched.ID, ids.New(ids.Tenant), []byte(marshal(t, mismatched))},
	} {
		if _, err := f.admin.Exec(ctx, "INSERT INTO bff.outbox (id, tenant_id, subject, envelope) VALUES ($1, $2, $3, $4)",
			r.id, r.tenant, events.AISuggestionDecided, r.envelope); err != nil {
			t.Fatal(err)
		}
	}
	var good []events.Envelope
	for i := range 3 {
		good = append(good, newEvent(t, events.AISuggestionDecided, tenant, i+1))
	}
	f.commit(t, tenant, good...)

	pub := newPublisher(t, f.project)
	opts := outbox.DrainOptions{BatchSize: 2, MinAge: -1, Log: logtest.TestLogger(t)}
	st, err := outbox.Drain(ctx, f.jobs, pub, opts)
	if err != nil || st.Published != 3 || st.Poison != 2 || st.Failed != 0 {
		t.Fatalf("Drain = %+v, %v; want 3 published, 2 poison", st, err)
	}
	want := []string{badJSON, mismatched.ID}
	slices.Sort(want)
	if diff := cmp.Diff(want, f.rowIDs(t)); diff != "" {
		t.Fatalf("outbox after the drain (-want +got):\n%s", diff)
	}
	rows := f.rows(t)
	for _, r := range rows {
		if r.Attempts != 1 || r.Due || r.LastError == nil || !strings.HasPrefix(*r.LastError, "poison: ") {
			t.Errorf("poison row %s: attempts=%d due=%v last_error=%v; want 1, backed off, poison: …", r.ID, r.Attempts, r.Due, r.LastError)
		}
	}
	if got := f.receive(t, subs, idsOf(good)); got.total() != 3 {
		t.Errorf("received %v", got.count)
	}
	// Backed off: the next run does not even take them.
	if st, err := outbox.Drain(ctx, f.jobs, pub, opts); err != nil || st != (outbox.DrainStats{}) {
		t.Errorf("second Drain = %+v, %v; want nothing taken", st, err)
	}
}

func TestDrainRefusesTheAppRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := outbox.Drain(context.Background(), f.app, newPublisher(t, f.project), outbox.DrainOptions{Log: logtest.TestLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "bff_jobs") {
		t.Errorf("Drain as bff_app = %v, want a refusal naming bff_jobs", err)
	}
}

// The app role sees, and Send deletes, only its own tenant's rows.
func TestSendCannotTouchAnotherTenantsRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.subscribe(t, events.AISuggestionDecided)
	a, b := ids.New(ids.Tenant), ids.New(ids.Tenant)
	ea, eb := newEvent(t, events.AISuggestionDecided, a, 1), newEvent(t, events.AISuggestionDecided, b, 2)
	for _, e := range []events.Envelope{ea, eb} {
		f.commit(t, e.TenantID, e)
	}
	var seen []string
	err := f.app.InTenantTx(ctx, a, func(ctx context.Context, tx pgx.Tx) error {
		rs, err := tx.Query(ctx, "SELECT id FROM bff.outbox")
		if err != nil {
			return err
		}
		seen, err = pgx.CollectRows(rs, pgx.RowTo[string])
		return err
	})
	if err != nil || !slices.Equal(seen, []string{ea.ID}) {
		t.Errorf("tenant A sees %v, %v; want only %s", seen, err, ea.ID)
	}
	// Send of B's event under A's tenant publishes it but cannot delete B's
	// row: it stays for the relay (a duplicate, never a loss).
	f.relay(t).Send(ctx, a, eb)
	if diff := cmp.Diff(idsOf([]events.Envelope{ea, eb}), f.rowIDs(t)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
}
