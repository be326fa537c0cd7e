package inbox

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// What the suggestion and alert inboxes do alike, over their own item
// and row types.

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

// commit writes a's action on an entry of propertyID: write (the action's
// own row, refusing a second one), the action's activity row note and its
// event (subject, data) in one transaction of a's tenant; once committed,
// note is Recorded and the event relayed.
func (d *Deps) commit(ctx context.Context, a actor.Actor, note *activity.Note, subject, propertyID string, data any,
	write func(ctx context.Context, tx pgx.Tx) error) error {
	ev, err := events.New(subject, a.TenantID, propertyID, data)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "an internal error occurred")
	}
	err = d.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		if err := write(ctx, tx); err != nil {
			return err
		}
		if err := activity.RecordTx(ctx, tx, a, *note); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, ev)
	})
	if err != nil {
		return err
	}
	note.Recorded = true
	d.Relay.Send(ctx, a.TenantID, ev)
	return nil
}

// insertOnce runs insert, the INSERT … ON CONFLICT DO NOTHING of an action
// written once, with args, and returns taken when it wrote nothing.
func insertOnce(ctx context.Context, tx pgx.Tx, taken error, insert string, args ...any) error {
	tag, err := tx.Exec(ctx, insert, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return taken
	}
	return nil
}
