package schema_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// The tests here write rows with plain SQL rather than through the activity
// package: they test the database's rules, which must hold whatever Go code
// does.

const insertRow = `INSERT INTO bff.operator_activity
	(id, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id)
	VALUES ($1, $2, $3, $4, $5, 'view', 'dashboard.viewed', 'success', 3, 'req-1')`

type tenantRow struct {
	ID, Tenant string
}

func insertArgs(tenant string, at time.Time) []any {
	return []any{ids.New(ids.Activity), tenant, ids.New(ids.Operator), ids.New(ids.Device), at}
}

// count counts the rows of table that q (a pool, connection or
// transaction) sees: row-level security applies.
func count(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, table string) (int, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n, err
}

func wantSQLState(t *testing.T, what string, err error, codes ...string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Errorf("%s: err = %v, want SQLSTATE %v", what, err, codes)
		return
	}
	for _, c := range codes {
		if pe.Code == c {
			return
		}
	}
	t.Errorf("%s: SQLSTATE %s (%s), want %v", what, pe.Code, pe.Message, codes)
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	app, _ := testenv.Postgres(t)
	ctx := context.Background()
	tenantA, tenantB := ids.New(ids.Tenant), ids.New(ids.Tenant)

	var idA, idB string
	for _, tc := range []struct {
		tenant string
		id     *string
	}{{tenantA, &idA}, {tenantB, &idB}} {
		err := app.InTenantTx(ctx, tc.tenant, func(ctx context.Context, tx pgx.Tx) error {
			args := insertArgs(tc.tenant, time.Now())
			*tc.id = args[0].(string)
			_, err := tx.Exec(ctx, insertRow, args...)
			return err
		})
		if err != nil {
			t.Fatalf("insert own row of %s: %v", tc.tenant, err)
		}
	}

	t.Run("reads only its own rows", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			tenant string
			want   []tenantRow
		}{
			{tenantA, []tenantRow{{idA, tenantA}}},
			{tenantB, []tenantRow{{idB, tenantB}}},
		} {
			var got []tenantRow
			err := app.InTenantTx(ctx, tc.tenant, func(ctx context.Context, tx pgx.Tx) error {
				// Asking for the other tenant by name changes nothing.
				rows, err := tx.Query(ctx, "SELECT id, tenant_id FROM bff.operator_activity WHERE tenant_id IN ($1, $2)", tenantA, tenantB)
				if err != nil {
					return err
				}
				got, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenantRow, error) {
					var x tenantRow
					err := r.Scan(&x.ID, &x.Tenant)
					return x, err
				})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tenant %s sees (-want +got):\n%s", tc.tenant, diff)
			}
		}
	})

	t.Run("cannot insert another tenant's row", func(t *testing.T) {
		t.Parallel()
		_, err := execIn(ctx, app, tenantA, insertRow, insertArgs(tenantB, time.Now())...)
		wantSQLState(t, "insert B's row as A", err, "42501")
	})

	t.Run("no tenant: reads nothing, inserts nothing", func(t *testing.T) {
		t.Parallel()
		n, err := count(ctx, app.Pool(), "bff.operator_activity")
		if err != nil || n != 0 {
			t.Errorf("count without tenant = %d, %v; want 0", n, err)
		}
		_, err = app.Pool().Exec(ctx, insertRow, insertArgs(tenantA, time.Now())...)
		wantSQLState(t, "insert without tenant", err, "42501")

		// An empty setting (what a committed set_config leaves behind)
		// matches nothing either.
		tx, err := app.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', '', true)"); err != nil {
			t.Fatal(err)
		}
		if n, err := count(ctx, tx, "bff.operator_activity"); err != nil || n != 0 {
			t.Errorf("count with empty tenant = %d, %v; want 0", n, err)
		}
	})

	t.Run("app cannot update, delete or truncate", func(t *testing.T) {
		t.Parallel()
		for _, stmt := range []string{
			"UPDATE bff.operator_activity SET action = 'x'",
			"DELETE FROM bff.operator_activity",
			"TRUNCATE bff.operator_activity",
		} {
			_, err := execIn(ctx, app, tenantA, stmt)
			wantSQLState(t, stmt, err, "42501")
		}
	})
}

// TestPooledConnectionCarriesNoTenant uses a pool of one connection, so the
// statement after the transaction runs on the very connection that had the
// tenant set.
func TestPooledConnectionCarriesNoTenant(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	one := testenv.OpenPG(t, info.AppURL, 1)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)

	cases := []struct {
		name   string
		fnErr  error
		wantOK bool
	}{
		{name: "after commit", wantOK: true},
		{name: "after rollback", fnErr: errors.New("action failed")},
	}
	for _, tc := range cases {
		var pid1, pid2 int
		err := one.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid1); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insertRow, insertArgs(tenant, time.Now())...); err != nil {
				return err
			}
			return tc.fnErr
		})
		if (err == nil) != tc.wantOK {
			t.Fatalf("%s: InTenantTx = %v", tc.name, err)
		}
		var setting *string
		if err := one.Pool().QueryRow(ctx,
			"SELECT pg_backend_pid(), current_setting('app.tenant_id', true)").Scan(&pid2, &setting); err != nil {
			t.Fatal(err)
		}
		if pid1 != pid2 {
			t.Fatalf("%s: not the same connection (%d, %d)", tc.name, pid1, pid2)
		}
		if setting != nil && *setting != "" {
			t.Errorf("%s: app.tenant_id = %q on the pooled connection", tc.name, *setting)
		}
		if n, err := count(ctx, one.Pool(), "bff.operator_activity"); err != nil || n != 0 {
			t.Errorf("%s: rows visible on the pooled connection = %d, %v", tc.name, n, err)
		}
	}
}

func TestAppRoleHasNoPrivilegeBeyondGrants(t *testing.T) {
	t.Parallel()
	admin := freshAdmin(t)

	var super, bypass, createRole, createDB bool
	if err := admin.QueryRow(context.Background(),
		"SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'bff_app'",
	).Scan(&super, &bypass, &createRole, &createDB); err != nil {
		t.Fatal(err)
	}
	if super || bypass || createRole || createDB {
		t.Errorf("bff_app: super=%v bypassrls=%v createrole=%v createdb=%v; want all false", super, bypass, createRole, createDB)
	}

	// Ownership is where RLS stops applying (without FORCE) and where
	// privileges cannot be revoked: bff_app must own nothing at all.
	owned := column(t, admin, `
SELECT 'class ' || oid::regclass::text FROM pg_class WHERE relowner = 'bff_app'::regrole
UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspowner = 'bff_app'::regrole
UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_proc WHERE proowner = 'bff_app'::regrole
UNION ALL SELECT 'type ' || oid::regtype::text FROM pg_type WHERE typowner = 'bff_app'::regrole
UNION ALL SELECT 'database ' || datname FROM pg_database WHERE datdba = 'bff_app'::regrole`)
	if len(owned) != 0 {
		t.Errorf("bff_app owns %v", owned)
	}

	memberOf := column(t, admin, `SELECT roleid::regrole::text FROM pg_auth_members WHERE member = 'bff_app'::regrole`)
	if len(memberOf) != 0 {
		t.Errorf("bff_app is a member of %v (it would inherit their privileges)", memberOf)
	}

	wantPrivileges(t, admin, "bff.operator_activity", map[string][]string{"bff_app": {"INSERT", "SELECT"}})
}

// TestEveryTenantTableHasForcedRLS must keep holding as migrations add
// tables: any table anywhere with a tenant_id column needs RLS enabled and
// forced, or its owner (and a missing policy) would expose every tenant.
func TestEveryTenantTableHasForcedRLS(t *testing.T) {
	t.Parallel()
	admin := freshAdmin(t)

	type table struct {
		Name          string
		RLS, ForceRLS bool
	}
	rows, err := admin.Query(context.Background(), `
SELECT c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg_toast%'
 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var x table
		err := r.Scan(&x.Name, &x.RLS, &x.ForceRLS)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		t.Fatal("no table with a tenant_id column: the query is wrong")
	}
	for _, tb := range tables {
		if !tb.RLS || !tb.ForceRLS {
			t.Errorf("%s: row security enabled=%v forced=%v; want both", tb.Name, tb.RLS, tb.ForceRLS)
		}
	}
}

func TestJobsRoleAccess(t *testing.T) {
	t.Parallel()
	r := newRoles(t)
	tenants := []string{ids.New(ids.Tenant), ids.New(ids.Tenant)}
	old := time.Now().Add(-91 * 24 * time.Hour)

	// Each tenant: one fresh row, one past the 90-day window.
	for _, tn := range tenants {
		err := r.app.InTenantTx(r.ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
			for _, at := range []time.Time{time.Now(), old} {
				if _, err := tx.Exec(ctx, insertRow, insertArgs(tn, at)...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("export reads every tenant", func(t *testing.T) {
		n, err := countAsJobs(r.ctx, r.jobs, "bff.operator_activity")
		if err != nil || n != 4 {
			t.Errorf("jobs count = %d, %v; want 4", n, err)
		}
	})

	t.Run("cannot insert, update or truncate", func(t *testing.T) {
		r.wantJobsRefused(t, "jobs insert", insertRow, insertArgs(tenants[0], time.Now())...)
		for _, stmt := range []string{"UPDATE bff.operator_activity SET action = 'x'", "TRUNCATE bff.operator_activity"} {
			r.wantJobsRefused(t, "jobs "+stmt, stmt)
		}
	})

	t.Run("retention deletes only exported rows past 90 days", func(t *testing.T) {
		// Nothing exported yet (migration 0007): nothing may go.
		n, err := r.asJobs("DELETE FROM bff.operator_activity")
		if err != nil || n != 0 {
			t.Errorf("jobs delete before any export = %d rows, %v; want 0", n, err)
		}
		// export-activity's bookkeeping: every row is in BigQuery.
		if _, err := r.asJobs(`INSERT INTO bff.activity_export_batch (seq, from_xid, from_id, to_xid, to_id, row_count, exported_at)
SELECT 1, '0'::xid8, '', recorded_xid, id, 4, now() FROM bff.operator_activity ORDER BY recorded_xid DESC, id DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		n, err = r.asJobs("DELETE FROM bff.operator_activity")
		if err != nil || n != 2 {
			t.Errorf("jobs delete = %d rows, %v; want 2 (the old ones)", n, err)
		}
		for _, tn := range tenants {
			left, err := countIn(r.ctx, r.app, tn, "bff.operator_activity")
			if err != nil || left != 1 {
				t.Errorf("tenant %s has %d rows after retention, %v; want 1", tn, left, err)
			}
		}
	})

	t.Run("append-only even for owner and superuser", func(t *testing.T) {
		r.wantOwnerAndSuperuserRefused(t, false,
			"UPDATE bff.operator_activity SET action = 'x'",
			"DELETE FROM bff.operator_activity",
			"TRUNCATE bff.operator_activity",
		)
	})
}
