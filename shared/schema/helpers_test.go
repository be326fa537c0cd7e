package schema_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// execIn runs stmt in one transaction as tenant (row-level security on)
// and says how many rows it touched: what a policy let through.
func execIn(ctx context.Context, db *pg.DB, tenant, stmt string, args ...any) (int64, error) {
	return rowsTouched(ctx, func(fn pg.TxFunc) error { return db.InTenantTx(ctx, tenant, fn) }, stmt, args...)
}

// execAsJobs is execIn as the jobs role, across tenants.
func execAsJobs(ctx context.Context, db *pg.DB, stmt string, args ...any) (int64, error) {
	return rowsTouched(ctx, func(fn pg.TxFunc) error { return db.InJobsTx(ctx, fn) }, stmt, args...)
}

func rowsTouched(ctx context.Context, inTx func(pg.TxFunc) error, stmt string, args ...any) (int64, error) {
	var n int64
	err := inTx(func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, stmt, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// countIn is how many rows of table tenant sees (row-level security on).
func countIn(ctx context.Context, db *pg.DB, tenant, table string) (int, error) {
	return rowsSeen(func(fn pg.TxFunc) error { return db.InTenantTx(ctx, tenant, fn) }, table)
}

// countAsJobs is countIn as the jobs role, across tenants.
func countAsJobs(ctx context.Context, db *pg.DB, table string) (int, error) {
	return rowsSeen(func(fn pg.TxFunc) error { return db.InJobsTx(ctx, fn) }, table)
}

func rowsSeen(inTx func(pg.TxFunc) error, table string) (int, error) {
	var n int
	err := inTx(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		n, err = count(ctx, tx, table)
		return err
	})
	return n, err
}

// roles is a fresh database as the two roles of the policy tests meet it:
// the app, confined to the tenant its transaction names, and the jobs role,
// across tenants.
type roles struct {
	ctx  context.Context
	app  *pg.DB
	jobs *pg.DB
	info testenv.PGInfo
}

func newRoles(t *testing.T) *roles {
	t.Helper()
	app, info := testenv.Postgres(t)
	return &roles{ctx: context.Background(), app: app, jobs: testenv.JobsDB(t, info), info: info}
}

// inTenant is execIn on the app's pool.
func (r *roles) inTenant(tenant, stmt string, args ...any) (int64, error) {
	return execIn(r.ctx, r.app, tenant, stmt, args...)
}

// asJobs is execAsJobs on the jobs role's pool.
func (r *roles) asJobs(stmt string, args ...any) (int64, error) {
	return execAsJobs(r.ctx, r.jobs, stmt, args...)
}

// wantAppRefused runs stmt as the app in tenant's transaction and wants it
// refused for want of privilege (SQLSTATE 42501); what names it in a
// failure.
func (r *roles) wantAppRefused(t *testing.T, what, tenant, stmt string, args ...any) {
	t.Helper()
	_, err := r.inTenant(tenant, stmt, args...)
	wantSQLState(t, what, err, "42501")
}

// wantJobsRefused is wantAppRefused for the jobs role.
func (r *roles) wantJobsRefused(t *testing.T, what, stmt string, args ...any) {
	t.Helper()
	_, err := r.asJobs(stmt, args...)
	wantSQLState(t, what, err, "42501")
}

// wantOwnerAndSuperuserRefused runs each of stmts as the tables' owner and
// as the superuser and wants each refused (SQLSTATE 42501). With
// ownerSeesNoRows the owner may instead change nothing: forced RLS hides
// every row from it before it meets the guard the superuser meets.
func (r *roles) wantOwnerAndSuperuserRefused(t *testing.T, ownerSeesNoRows bool, stmts ...string) {
	t.Helper()
	for _, url := range []string{r.info.OwnerURL, r.info.AdminURL} {
		c := connect(t, url)
		for _, stmt := range stmts {
			tag, err := c.Exec(r.ctx, stmt)
			if ownerSeesNoRows && url == r.info.OwnerURL && err == nil && tag.RowsAffected() == 0 {
				continue
			}
			wantSQLState(t, url+": "+stmt, err, "42501")
		}
	}
}

// column is the one text column of query's rows, failing the test when the
// query does.
func column(t *testing.T, c *pgx.Conn, query string, args ...any) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantPrivileges fails the test unless each role of want has exactly its
// privileges on table, as privileges lists them.
func wantPrivileges(t *testing.T, admin *pgx.Conn, table string, want map[string][]string) {
	t.Helper()
	for role, w := range want {
		if diff := cmp.Diff(w, privileges(t, admin, role, table)); diff != "" {
			t.Errorf("%s on %s (-want +got):\n%s", role, table, diff)
		}
	}
}

// privileges is what role may do to table, column by column where it may
// update only some columns: "INSERT", "SELECT", "UPDATE(forwarded_at)".
func privileges(t *testing.T, admin *pgx.Conn, role, table string) []string {
	t.Helper()
	return column(t, admin, `
SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
 WHERE has_table_privilege($1, $2, p)
UNION ALL
SELECT 'UPDATE(' || a.attname || ')' FROM pg_attribute a
 WHERE a.attrelid = $2::regclass AND a.attnum > 0 AND NOT a.attisdropped
   AND has_column_privilege($1, $2, a.attname, 'UPDATE') AND NOT has_table_privilege($1, $2, 'UPDATE')
ORDER BY 1`, role, table)
}

// freshAdmin is a superuser's connection to a fresh database: what the
// catalog says, unfiltered by row security.
func freshAdmin(t *testing.T) *pgx.Conn {
	t.Helper()
	_, info := testenv.Postgres(t)
	return connect(t, info.AdminURL)
}
