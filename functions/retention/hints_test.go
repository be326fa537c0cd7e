package retention_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/melmastoon/bff-backoffice/functions/retention"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// device writes a reported device whose hint was reported age ago, as a
// heartbeat would (deleted: with a tombstone, as a device deleted before
// 0011 cleared hints on deletion), and returns its id.
func device(t *testing.T, app *pg.DB, tenant string, age time.Duration, deleted bool) string {
	t.Helper()
	dev := ids.New(ids.Device)
	at := time.Now().Add(-age)
	var del *time.Time
	if deleted {
		del = &at
	}
	if err := app.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO bff.device_sync (id, tenant_id, device_id, property_id, operator_id, session_id, sent_at, last_heartbeat_at,
       hint_id, pending, pending_reported_at, deleted_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, '[{"aggregate":"reservation","count":2,"oldestAgeSeconds":60}]', $7, $9, $7)`,
			ids.New(ids.DeviceSync), tenant, dev, ids.New(ids.Property), ids.New(ids.Operator), ids.New(ids.Session), at, ids.New(ids.OfflineHint), del)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return dev
}

func hasHint(t *testing.T, jobs *pg.DB, dev string) bool {
	t.Helper()
	var has bool
	if err := jobs.Pool().QueryRow(context.Background(), `SELECT pending IS NOT NULL AND hint_id IS NOT NULL AND pending_reported_at IS NOT NULL
  FROM bff.device_sync WHERE device_id = $1`, dev).Scan(&has); err != nil {
		t.Fatal(err)
	}
	return has
}

func refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501"
}

// The retention run empties the hints of live devices reported more than
// 7 days ago, in batches, and nothing else: fresh hints stay, tombstones
// are left alone; two runs together clear each hint once.
func TestRetentionClearsExpiredHints(t *testing.T) {
	t.Parallel()
	app, jobs, _ := databases(t)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)
	var old, fresh []string
	for range 7 {
		old = append(old, device(t, app, tenant, 8*24*time.Hour, false))
	}
	for range 3 {
		fresh = append(fresh, device(t, app, tenant, 6*24*time.Hour, false))
	}
	tomb := device(t, app, tenant, 9*24*time.Hour, true)

	var wg sync.WaitGroup
	sums := make([]retention.Summary, 2)
	for i := range sums {
		wg.Go(func() {
			s, err := retention.Run(ctx, jobs, retention.Options{BatchRows: 2})
			if err != nil {
				t.Error(err)
			}
			sums[i] = s
		})
	}
	wg.Wait()
	if got := sums[0].HintsCleared + sums[1].HintsCleared; got != int64(len(old)) {
		t.Fatalf("runs cleared %d + %d hints; want %d in all", sums[0].HintsCleared, sums[1].HintsCleared, len(old))
	}
	for _, d := range old {
		if hasHint(t, jobs, d) {
			t.Errorf("device %s keeps a hint 8 days old", d)
		}
	}
	for _, d := range fresh {
		if !hasHint(t, jobs, d) {
			t.Errorf("device %s lost a 6-day-old hint", d)
		}
	}
	if !hasHint(t, jobs, tomb) {
		t.Error("the run touched a tombstone")
	}
	if s, err := retention.Run(ctx, jobs, retention.Options{}); err != nil || s.HintsCleared != 0 {
		t.Fatalf("a second run: %+v, %v", s, err)
	}
}

// The database, not the job, decides: as bff_jobs, emptying a fresh hint,
// or marking a device lost while clearing its hint, is refused; emptying
// an expired one is allowed.
func TestJobsRoleMayOnlyClearExpiredHints(t *testing.T) {
	t.Parallel()
	app, jobs, _ := databases(t)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)
	fresh := device(t, app, tenant, time.Hour, false)
	old := device(t, app, tenant, 8*24*time.Hour, false)

	clear := func(dev, extra string) error {
		return jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE bff.device_sync SET hint_id = NULL, pending = NULL, pending_reported_at = NULL`+extra+` WHERE device_id = $1`, dev)
			return err
		})
	}
	if err := clear(fresh, ""); !refused(err) {
		t.Fatalf("clearing a fresh hint as bff_jobs: %v; want refused", err)
	}
	if err := clear(old, ", lost_at = now()"); !refused(err) {
		t.Fatalf("marking lost and clearing at once: %v; want refused", err)
	}
	if err := jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE bff.device_sync SET pending = '[]' WHERE device_id = $1`, old)
		return err
	}); err == nil {
		t.Fatal("rewriting an expired hint as bff_jobs was allowed")
	}
	if err := clear(old, ""); err != nil {
		t.Fatalf("clearing an expired hint: %v", err)
	}
	if hasHint(t, jobs, old) || !hasHint(t, jobs, fresh) {
		t.Fatal("hints after the updates are not as the rules say")
	}
}
