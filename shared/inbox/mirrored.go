package inbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// What the suggestion and alert inboxes do alike, over their own item
// and row types.

// decodeItem reads a mirrored upstream item; one that does not decode is
// treated as absent (and logged, naming the inbox kind), never shown
// half-read.
func decodeItem[T any](ctx context.Context, kind, raw string) (T, bool) {
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		logging.From(ctx).ErrorContext(ctx, kind+" inbox entry unreadable", "err", err)
		return v, false
	}
	return v, true
}

// putItems mirrors xs, each made an item by itemOf.
func putItems[T any](ctx context.Context, m mirror, tenantID, propertyID string, xs []T, loaded bool, itemOf func(T) (item, error)) error {
	its := make([]item, 0, len(xs))
	for _, x := range xs {
		it, err := itemOf(x)
		if err != nil {
			return err
		}
		its = append(its, it)
	}
	return m.put(ctx, tenantID, propertyID, its, loaded)
}

// rowsOf reads, in tenantID's transaction, the rows query selects with
// args and then upstreamIDs as its last parameter, keyed by the upstream
// id scan returns; what names the read in errors. No ids, no query.
func rowsOf[T any](ctx context.Context, db *pg.DB, tenantID, what, query string, upstreamIDs []string, scan func(pgx.Rows) (string, T, error), args ...any) (map[string]T, error) {
	out := map[string]T{}
	if len(upstreamIDs) == 0 {
		return out, nil
	}
	err := db.InTenantTx(ctx, tenantID, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, append(args, upstreamIDs)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			id, v, err := scan(rows)
			if err != nil {
				return err
			}
			out[id] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return out, nil
}
