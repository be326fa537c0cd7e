package activity

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/actor"
)

// ExplainFeed returns the plan (EXPLAIN in format, JSON or TEXT) of the
// statement List would run for a and q, and the statement.
func ExplainFeed(ctx context.Context, f *Feed, a actor.Actor, q FeedQuery, format string) (plan []byte, sql string, err error) {
	flt, _, err := f.check(a, q)
	if err != nil {
		return nil, "", err
	}
	sql, args := feedSQL(a.TenantID, flt)
	err = f.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "EXPLAIN (FORMAT "+format+", COSTS OFF) "+sql, args...)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		plan = []byte(strings.Join(lines, "\n"))
		return err
	})
	return plan, sql, err
}
