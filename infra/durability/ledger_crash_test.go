package durability_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/localstack"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/schema"
)

// The ledger's durability by category, against a durable cluster crashed
// the way a server crash does (immediate shutdown: the WAL still in shared
// memory is gone):
//   - a row of any category but a view is on disk when Record returns: every
//     one of them is there after a crash that follows its Record at once;
//   - a view row (committed without waiting for its flush) is on disk once
//     the WAL writer has flushed past it: every one is there after a crash
//     that follows that flush.
//
// What the crash takes of views recorded just before it is only logged: it
// depends on where the WAL writer was, which is the bound the README states
// (3 × wal_writer_delay), not something a test can pin.
func TestLedgerRowsSurviveADatabaseCrash(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := localstack.StartPostgres(ctx, localstack.Options{DurablePostgres: true, TempDir: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
	})
	appURL := migrated(t, ctx, srv.AdminURL())
	tenant := ids.New(ids.Tenant)

	db := open(t, ctx, appURL)
	l := activity.NewLedger(db, activity.Options{WriteTimeout: 30 * time.Second})

	// 1. Mutations, then views flushed by the WAL writer.
	locks := record(t, l, tenant, activity.CategoryLockAction, 48)
	views := record(t, l, tenant, activity.CategoryView, 48)
	if l.Stats().RelaxedBatches == 0 {
		t.Fatal("no view batch was relaxed: the test would prove nothing about views")
	}
	admin, err := pgx.Connect(ctx, srv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	var inserted string
	if err := admin.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&inserted); err != nil {
		t.Fatal(err)
	}
	for flushed := false; !flushed; {
		if err := admin.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn", inserted).Scan(&flushed); err != nil {
			t.Fatal(err)
		}
		if !flushed {
			select {
			case <-ctx.Done():
				t.Fatalf("the WAL writer never flushed past %s", inserted)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	admin.Close(ctx)

	// 2. Mutations and views together; the crash comes the moment the
	// last mutation's Record has returned.
	var late []string
	var wg sync.WaitGroup
	wg.Go(func() { late = record(t, l, tenant, activity.CategoryView, 48) })
	lastLocks := record(t, l, tenant, activity.CategoryLockAction, 48)
	if err := srv.Crash(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait() // views caught by the crash fail their Record; record logs them
	db.Close()

	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	after := open(t, ctx, appURL)
	present := ids_(t, ctx, after, tenant)
	for _, set := range []struct {
		what string
		ids  []string
	}{
		{"lock rows recorded before", locks},
		{"view rows flushed before", views},
		{"lock rows recorded just before the crash", lastLocks},
	} {
		missing := 0
		for _, id := range set.ids {
			if !present[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%s: %d of %d missing after the crash", set.what, missing, len(set.ids))
		}
	}
	kept := 0
	for _, id := range late {
		if present[id] {
			kept++
		}
	}
	t.Logf("views committed while the crash came: %d of %d answered Record kept (the README's bound)", kept, len(late))
}

// record writes n rows of category, one per concurrent Record call, and
// returns the ids of those whose Record succeeded.
func record(t *testing.T, l *activity.Ledger, tenant string, c activity.Category, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var ok []string
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			e := activity.Entry{
				ID: ids.New(ids.Activity), TenantID: tenant, PropertyID: ids.New(ids.Property),
				OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session),
				Category: c, Action: string(c) + ".test", Outcome: activity.OutcomeSuccess, RequestID: "req-" + ids.New(ids.Event),
			}
			if err := l.Record(context.Background(), e); err != nil {
				t.Logf("record %s: %v", c, err)
				return
			}
			mu.Lock()
			ok = append(ok, e.ID)
			mu.Unlock()
		})
	}
	wg.Wait()
	return ok
}

// migrated creates the roles and a migrated database on the cluster and
// returns the app role's URL of it (the cluster trusts loopback).
func migrated(t *testing.T, ctx context.Context, adminURL string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := schema.EnsureRoles(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE bff OWNER "+schema.OwnerRole+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/bff"
	mc, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close(ctx)
	if err := schema.Migrate(ctx, mc); err != nil {
		t.Fatal(err)
	}
	u.User = url.User(schema.AppRole)
	return u.String()
}

func open(t *testing.T, ctx context.Context, url string) *pg.DB {
	t.Helper()
	db, err := pg.Open(ctx, pg.Config{URL: url, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// ids_ is the set of the tenant's activity ids.
func ids_(t *testing.T, ctx context.Context, db *pg.DB, tenant string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id FROM bff.operator_activity")
		if err != nil {
			return err
		}
		list, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, id := range list {
			out[id] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
