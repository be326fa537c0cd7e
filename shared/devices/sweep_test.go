package devices_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// recorder is a publisher that keeps what it was given.
type recorder struct {
	mu  sync.Mutex
	evs []events.Envelope
}

func (r *recorder) Publish(_ context.Context, evs ...events.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

// silentDevices inserts n devices of tenant whose last heartbeat was
// ago, in one statement.
func silentDevices(t *testing.T, db *pg.DB, tenant string, n int, ago time.Duration) []string {
	t.Helper()
	var dsy, dev, prop, op, sess []string
	p := ids.New(ids.Property)
	for range n {
		dsy, dev, prop = append(dsy, ids.New(ids.DeviceSync)), append(dev, ids.New(ids.Device)), append(prop, p)
		op, sess = append(op, ids.New(ids.Operator)), append(sess, ids.New(ids.Session))
	}
	execAs(t, db, tenant, `INSERT INTO bff.device_sync (id, tenant_id, device_id, property_id, operator_id, session_id, sent_at, last_heartbeat_at, updated_at)
SELECT a, $1, b, c, d, e, now() - $7::interval, now() - $7::interval, now()
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(a, b, c, d, e)`, tenant, dsy, dev, prop, op, sess, ago.String())
	return dev
}

// Two runs started together over 1,000 silent devices of two tenants emit
// exactly 1,000 device.heartbeat.lost.v1, one per device; the outbox ends
// empty; a third run emits nothing; a device that beats again is online
// and its next silence is announced again.
func TestSweepOverlappingRunsEmitOncePerDevice(t *testing.T) {
	t.Parallel()
	app, info := testenv.Postgres(t)
	jobs := testenv.JobsDB(t, info)
	ctx := context.Background()
	t1, t2 := ids.New(ids.Tenant), ids.New(ids.Tenant)
	silent := append(silentDevices(t, app, t1, 600, 6*time.Minute), silentDevices(t, app, t2, 400, 10*time.Minute)...)
	fresh := silentDevices(t, app, t1, 50, 4*time.Minute) // idle, not lost

	pub := &recorder{}
	newSweeper := func() *devices.Sweeper {
		return &devices.Sweeper{DB: jobs, Relay: outbox.NewRelay(jobs, pub, nil, outbox.Options{}), Batch: 100, MaxBatches: 20}
	}
	results := make([]devices.SweepResult, 2)
	errs := make([]error, 2)
	testenv.AtOnce(2, func(i int) { results[i], errs[i] = newSweeper().Run(ctx) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if got := results[0].Lost + results[1].Lost; got != len(silent) {
		t.Errorf("runs report %d + %d lost, want %d in all", results[0].Lost, results[1].Lost, len(silent))
	}
	perDevice := map[string]int{}
	for _, ev := range pub.evs {
		if ev.Subject != events.DeviceHeartbeatLost {
			t.Fatalf("subject %s", ev.Subject)
		}
		var d struct {
			DeviceID string `json:"deviceId"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		perDevice[d.DeviceID]++
	}
	if len(pub.evs) != len(silent) || len(perDevice) != len(silent) {
		t.Fatalf("published %d events for %d devices, want %d for %d", len(pub.evs), len(perDevice), len(silent), len(silent))
	}
	for _, d := range silent {
		if perDevice[d] != 1 {
			t.Errorf("device %s announced %d times", d, perDevice[d])
		}
	}
	for _, d := range fresh {
		if perDevice[d] != 0 {
			t.Errorf("idle device %s announced", d)
		}
	}
	var left int
	if err := jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM bff.outbox`).Scan(&left)
	}); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d events left in the outbox after publishing", left)
	}
	again, err := newSweeper().Run(ctx)
	if err != nil || again.Lost != 0 {
		t.Fatalf("third run: %+v, %v; want nothing lost", again, err)
	}
}

// A lost device that beats again is online on the next read, and its next
// silence is a new change, announced once more.
func TestSweepAgainAfterHeartbeat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := anOperator()
	f.beat(t, a, devices.Heartbeat{})
	jobs := f.jobs(t)
	pub := &recorder{}
	sw := &devices.Sweeper{DB: jobs, Relay: outbox.NewRelay(jobs, pub, nil, outbox.Options{}), Now: func() time.Time { return f.clock.Now() }}
	f.clock.Add(devices.OfflineAfter + time.Second)
	if r, err := sw.Run(ctx); err != nil || r.Lost != 1 {
		t.Fatalf("first silence: %+v, %v", r, err)
	}
	if r, err := sw.Run(ctx); err != nil || r.Lost != 0 {
		t.Fatalf("same silence again: %+v, %v", r, err)
	}
	if st := f.beat(t, a, devices.Heartbeat{}); st.Status != devices.StatusOnline {
		t.Fatalf("back: %+v", st)
	}
	f.clock.Add(devices.OfflineAfter + time.Second)
	if r, err := sw.Run(ctx); err != nil || r.Lost != 1 {
		t.Fatalf("second silence: %+v, %v", r, err)
	}
	if len(pub.evs) != 2 {
		t.Errorf("events = %d, want 2", len(pub.evs))
	}
}
