package pg_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cfg     pg.Config
		wantErr string
	}{
		{"ok", pg.Config{URL: "postgres://bff_app@127.0.0.1:5432/bff", MaxConns: 8}, ""},
		{"no url", pg.Config{MaxConns: 8}, "DATABASE_URL is required"},
		{"bad url", pg.Config{URL: "postgres://u:secret@127.0.0.1:notaport/db", MaxConns: 8}, "not a valid Postgres URL"},
		{"zero conns", pg.Config{URL: "postgres://127.0.0.1/db", MaxConns: 0}, "DATABASE_MAX_CONNS"},
		{"too many conns", pg.Config{URL: "postgres://127.0.0.1/db", MaxConns: 5000}, "DATABASE_MAX_CONNS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want it to mention %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "secret"):
				t.Errorf("Validate leaks the password: %v", err)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	var cfg struct {
		App  pg.Config
		Jobs pg.Config `env:", prefix=JOBS_"`
	}
	err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{
		"DATABASE_URL":      "postgres://bff_app@db/bff",
		"JOBS_DATABASE_URL": "postgres://bff_jobs@db/bff",
	}), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := pg.Config{URL: "postgres://bff_app@db/bff", MaxConns: 8, StatementTimeout: 5 * time.Second}
	if diff := cmp.Diff(want, cfg.App); diff != "" {
		t.Errorf("app config (-want +got):\n%s", diff)
	}
	if cfg.Jobs.URL != "postgres://bff_jobs@db/bff" {
		t.Errorf("jobs URL = %q", cfg.Jobs.URL)
	}
}

func TestOpenChecksRole(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		url      string
		wantRole string
		wantErr  string
	}{
		{"app", info.AppURL, "bff_app", ""},
		{"jobs", info.JobsURL, "bff_jobs", ""},
		{"superuser refused", info.AdminURL, "", "bypasses row-level security"},
	}
	for _, tc := range cases {
		db, err := pg.Open(ctx, pg.Config{URL: tc.url, MaxConns: 2})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: Open = %v, want %q", tc.name, err, tc.wantErr)
			}
			if db != nil {
				db.Close()
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Open: %v", tc.name, err)
		}
		if db.Role() != tc.wantRole {
			t.Errorf("%s: Role = %q, want %q", tc.name, db.Role(), tc.wantRole)
		}
		db.Close()
	}
}

func TestInTenantTxRejectsMalformedTenant(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	for _, tenant := range []string{"", "ten_", "prp_01ARZ3NDEKTSV4RRFFQ69G5FAV", "ten_01ARZ3NDEKTSV4RRFFQ69G5FA", "x' OR true --"} {
		called := false
		err := db.InTenantTx(context.Background(), tenant, func(context.Context, pgx.Tx) error {
			called = true
			return nil
		})
		if err == nil || called {
			t.Errorf("InTenantTx(%q) = %v, fn called %v; want an error and no call", tenant, err, called)
		}
	}
}

func TestInTenantTxSetsTenant(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	tenant := ids.New(ids.Tenant)
	var got string
	err := db.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_setting('app.tenant_id')").Scan(&got)
	})
	if err != nil || got != tenant {
		t.Errorf("app.tenant_id in the transaction = %q, %v; want %q", got, err, tenant)
	}
}

// insertHere writes a row whose tenant is whatever app.tenant_id says, so
// the rows show which tenant each statement of a batch ran as.
const insertHere = `INSERT INTO bff.operator_activity
	(id, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id)
	VALUES ($1, current_setting('app.tenant_id'), $2, $3, now(), 'view', $4, 'success', 3, 'req-1')`

// actionsOf is the actions of tenant's rows, in order.
func actionsOf(t *testing.T, db *pg.DB, tenant string) []string {
	t.Helper()
	return column(t, db, tenant, "SELECT action FROM bff.operator_activity ORDER BY action")
}

// column is the one text column of query's rows as tenant sees them.
func column(t *testing.T, db *pg.DB, tenant, query string) []string {
	t.Helper()
	var out []string
	err := db.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rowsOf is how many activity rows tenant has.
func rowsOf(t *testing.T, db *pg.DB, tenant string) int {
	t.Helper()
	var n int
	if err := db.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM bff.operator_activity").Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// execOnly is a transaction that runs stmt and nothing else.
func execOnly(stmt string, args ...any) pg.TxFunc {
	return func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, stmt, args...)
		return err
	}
}

// sqlState is the SQLSTATE of the Postgres error in err's chain, "" when
// there is none.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestSendTenantBatch(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	// One connection: the checks after each batch run on the connection
	// the batch used.
	db := testenv.OpenPG(t, info.AppURL, 1)
	ctx := context.Background()
	a, b, c := ids.New(ids.Tenant), ids.New(ids.Tenant), ids.New(ids.Tenant)
	queue := func(tb *pg.TenantBatch, tenant, action string) {
		tb.Queue(tenant, insertHere, ids.New(ids.Activity), ids.New(ids.Operator), ids.New(ids.Device), action)
	}
	noTenantLeft := func(what string) {
		t.Helper()
		var s *string
		if err := db.Pool().QueryRow(ctx, "SELECT current_setting('app.tenant_id', true)").Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s != nil && *s != "" {
			t.Errorf("%s: the pooled connection still carries app.tenant_id = %q", what, *s)
		}
	}

	t.Run("each statement runs as its tenant", func(t *testing.T) {
		var tb pg.TenantBatch
		queue(&tb, a, "a1")
		queue(&tb, a, "a2")
		queue(&tb, b, "b1")
		queue(&tb, a, "a3") // switching back sets the tenant again
		queue(&tb, c, "c1")
		if err := db.SendTenantBatch(ctx, &tb); err != nil {
			t.Fatal(err)
		}
		for tenant, want := range map[string][]string{a: {"a1", "a2", "a3"}, b: {"b1"}, c: {"c1"}} {
			if diff := cmp.Diff(want, actionsOf(t, db, tenant)); diff != "" {
				t.Errorf("tenant rows (-want +got):\n%s", diff)
			}
		}
		noTenantLeft("after a committed batch")
	})

	t.Run("all or nothing", func(t *testing.T) {
		d, e := ids.New(ids.Tenant), ids.New(ids.Tenant)
		var tb pg.TenantBatch
		queue(&tb, d, "d1")
		// Runs as e but names d: refused by row-level security.
		tb.Queue(e, insertRow, ids.New(ids.Activity), d, ids.New(ids.Operator), ids.New(ids.Device))
		if err := db.SendTenantBatch(ctx, &tb); sqlState(err) != "42501" {
			t.Fatalf("SendTenantBatch = %v, want an RLS violation", err)
		}
		if got := actionsOf(t, db, d); len(got) != 0 {
			t.Errorf("tenant d has %v after a failed batch, want nothing", got)
		}
		noTenantLeft("after a failed batch")
	})

	t.Run("malformed tenant sends nothing", func(t *testing.T) {
		f := ids.New(ids.Tenant)
		var tb pg.TenantBatch
		queue(&tb, f, "f1")
		queue(&tb, "ten_bogus", "x")
		if err := db.SendTenantBatch(ctx, &tb); err == nil {
			t.Fatal("SendTenantBatch with a malformed tenant succeeded")
		}
		if got := actionsOf(t, db, f); len(got) != 0 {
			t.Errorf("tenant f has %v, want nothing", got)
		}
		var empty pg.TenantBatch
		empty.Queue("", "SELECT 1")
		if err := db.SendTenantBatch(ctx, &empty); err == nil {
			t.Error("SendTenantBatch with an empty tenant succeeded")
		}
	})
}

// A relaxed batch commits with synchronous_commit off for its own
// transaction only: the setting is on for the database here (as on Cloud
// SQL), the relaxed batch's statements see off, and the next transaction on
// the same pooled connection sees on again, as does an ordinary batch.
func TestSendTenantBatchRelaxed(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, info.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{info.Database}.Sanitize()+" SET synchronous_commit = on")
	admin.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := testenv.OpenPG(t, info.AppURL, 1) // one connection: the setting cannot hide on another
	tenant := ids.New(ids.Tenant)
	send := func(action string, relax bool) {
		t.Helper()
		var tb pg.TenantBatch
		tb.Queue(tenant, insertSetting, ids.New(ids.Activity), ids.New(ids.Operator), ids.New(ids.Device), action)
		if relax {
			tb.Relax()
		}
		if err := db.SendTenantBatch(ctx, &tb); err != nil {
			t.Fatal(err)
		}
	}
	send("a-durable", false)
	send("b-relaxed", true)
	send("c-durable", false)
	got := column(t, db, tenant, "SELECT action || '=' || request_id FROM bff.operator_activity ORDER BY action")
	if diff := cmp.Diff([]string{"a-durable=on", "b-relaxed=off", "c-durable=on"}, got); diff != "" {
		t.Errorf("synchronous_commit per batch (-want +got):\n%s", diff)
	}
	var after string
	if err := db.Pool().QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != "on" {
		t.Errorf("the pooled connection kept synchronous_commit = %q after a relaxed batch", after)
	}
}

// insertSetting records the transaction's synchronous_commit in request_id.
const insertSetting = `INSERT INTO bff.operator_activity
	(id, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id)
	VALUES ($1, current_setting('app.tenant_id'), $2, $3, now(), 'view', $4, 'success', 3, current_setting('synchronous_commit'))`

const insertRow = `INSERT INTO bff.operator_activity
	(id, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id)
	VALUES ($1, $2, $3, $4, now(), 'view', 'dashboard.viewed', 'success', 3, 'req-1')`

func TestInTenantTxRollsBackAndKeepsAppErrors(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)

	notFound := apperr.New(apperr.NotFound, "no such reservation")
	err := db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertRow, ids.New(ids.Activity), tenant, ids.New(ids.Operator), ids.New(ids.Device)); err != nil {
			return err
		}
		return notFound
	})
	if !errors.Is(err, notFound) {
		t.Errorf("InTenantTx = %v, want the fn's NOT_FOUND", err)
	}
	apperrtest.WantCode(t, err, apperr.NotFound)
	if n := rowsOf(t, db, tenant); n != 0 {
		t.Errorf("rows after rollback = %d; want 0", n)
	}
}

func TestSQLErrorsAreInternalWithoutSQL(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	err := db.InTenantTx(context.Background(), ids.New(ids.Tenant), execOnly("SELECT secret_column FROM no_such_table"))
	apperrtest.WantCode(t, err, apperr.Internal)
	ae := apperr.From(err)
	if strings.Contains(ae.Detail, "no_such_table") || strings.Contains(ae.Title(), "no_such_table") {
		t.Errorf("client-facing detail leaks SQL: %q", ae.Detail)
	}
}

func TestInTenantTxRetriesSerializationFailures(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	ctx := context.Background()

	cases := []struct {
		name         string
		failures     int32
		code         string
		wantAttempts int32
		wantErr      bool
	}{
		{"no conflict", 0, "40001", 1, false},
		{"one serialization failure", 1, "40001", 2, false},
		{"deadlocks then success", 3, "40P01", 4, false},
		{"gives up", 100, "40001", 4, true},
		{"other errors are not retried", 100, "23505", 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tenant := ids.New(ids.Tenant)
			var attempts atomic.Int32
			err := db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
				n := attempts.Add(1)
				if _, err := tx.Exec(ctx, insertRow, ids.New(ids.Activity), tenant, ids.New(ids.Operator), ids.New(ids.Device)); err != nil {
					return err
				}
				if n <= tc.failures {
					// A real server error, raised the way Postgres
					// raises a conflict.
					_, err := tx.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '%s'; END $$`, tc.code))
					return err
				}
				return nil
			})
			if got := attempts.Load(); got != tc.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tc.wantAttempts)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("InTenantTx = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr && sqlState(err) != tc.code {
				t.Errorf("error = %v, want SQLSTATE %s in its chain", err, tc.code)
			}
			// Exactly one attempt's row committed, or none.
			want := 1
			if tc.wantErr {
				want = 0
			}
			if n := rowsOf(t, db, tenant); n != want {
				t.Errorf("rows = %d, want %d", n, want)
			}
		})
	}
}

func TestDatabaseGoneIsUnavailable(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	proxy := testenv.PGProxy(t, info.AppURL)
	db := testenv.OpenPG(t, proxy.URL, 2)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)

	noop := execOnly("SELECT 1")
	if err := db.InTenantTx(ctx, tenant, noop); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	// Pooled connections dying while idle (a failover) cost a retry on a
	// new connection, not an error.
	proxy.Reset()
	if err := db.InTenantTx(ctx, tenant, noop); err != nil {
		t.Fatalf("after a reset: %v", err)
	}
	proxy.Reset()
	if err := db.InJobsTx(ctx, noop); err != nil {
		t.Fatalf("jobs after a reset: %v", err)
	}
	proxy.Cut()

	cases := []struct {
		name string
		run  func() error
	}{
		{"InTenantTx", func() error { return db.InTenantTx(ctx, tenant, noop) }},
		{"InJobsTx", func() error { return db.InJobsTx(ctx, noop) }},
		{"SendTenantBatch", func() error {
			var b pg.TenantBatch
			b.Queue(tenant, "SELECT 1")
			return db.SendTenantBatch(ctx, &b)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name+" after the cut", func(t *testing.T) {
			apperrtest.WantCode(t, tc.run(), apperr.UpstreamUnavailable)
		})
	}
}

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", fmt.Errorf("x: %w", &pgconn.PgError{Code: "08006"}), true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"deadline", fmt.Errorf("q: %w", context.DeadlineExceeded), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"rls violation", &pgconn.PgError{Code: "42501"}, false},
		{"plain", errors.New("boom"), false},
		{"canceled", context.Canceled, false},
	}
	for _, tc := range cases {
		if got := pg.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: IsUnavailable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestInTenantTxContextDeadline(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := db.InTenantTx(ctx, ids.New(ids.Tenant), execOnly("SELECT pg_sleep(5)"))
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
}

// A statement that runs past the pool's statement timeout is cancelled by
// the server and frees its connection, instead of holding it (and the
// request) until the client gives up; the error is the usual client-safe
// one, not a 500 with SQL.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	ctx := context.Background()
	db, err := pg.Open(ctx, pg.Config{URL: info.AppURL, MaxConns: 1, StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenant := ids.New(ids.Tenant)
	var setting string
	if err := db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_setting('statement_timeout')").Scan(&setting)
	}); err != nil || setting != "200ms" {
		t.Fatalf("statement_timeout = %q (%v), want 200ms", setting, err)
	}
	start := time.Now()
	err = db.InTenantTx(ctx, tenant, execOnly("SELECT pg_sleep(30)"))
	if err == nil || time.Since(start) > 20*time.Second {
		t.Fatalf("pg_sleep(30) = %v after %v; want it cancelled by the server", err, time.Since(start))
	}
	if ae := apperr.From(err); strings.Contains(ae.Detail, "pg_sleep") || ae.Status() >= 500 && ae.Code != apperr.Internal && ae.Code != apperr.UpstreamUnavailable {
		t.Errorf("the error shows SQL: %v", err)
	}
	// The one connection is free again.
	if err := db.InTenantTx(ctx, tenant, execOnly("SELECT 1")); err != nil {
		t.Fatalf("after the timeout: %v", err)
	}
	if err := (pg.Config{URL: info.AppURL, MaxConns: 1, StatementTimeout: time.Millisecond}).Validate(); err == nil {
		t.Error("a 1 ms statement timeout is accepted")
	}
}
