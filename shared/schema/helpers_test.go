package schema_test

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/pg"
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
