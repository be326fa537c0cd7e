package schema_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// The outbox's rules (0003_outbox.sql), checked with plain SQL like the
// ledger's: the app role is confined to its tenant's rows and can only add
// and remove them; the relay's role reaches every tenant's rows but can
// change only the retry columns.

const insertOutbox = `INSERT INTO bff.outbox (id, tenant_id, subject, envelope)
	VALUES ($1, $2, 'melmastoon.bff.backoffice.alert.acknowledged.v1', '\x7b7d')`

func outboxIDs(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, "SELECT id FROM bff.outbox ORDER BY id")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func TestOutboxTenantIsolation(t *testing.T) {
	t.Parallel()
	r := newRoles(t)
	tenantA, tenantB := ids.New(ids.Tenant), ids.New(ids.Tenant)
	idA, idB := ids.New(ids.Event), ids.New(ids.Event)
	for _, row := range []struct{ tenant, id string }{{tenantA, idA}, {tenantB, idB}} {
		if _, err := r.inTenant(row.tenant, insertOutbox, row.id, row.tenant); err != nil {
			t.Fatalf("insert own row of %s: %v", row.tenant, err)
		}
	}

	t.Run("app reads only its own rows", func(t *testing.T) {
		var got []string
		err := r.app.InTenantTx(r.ctx, tenantA, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			got, err = outboxIDs(ctx, tx)
			return err
		})
		if err != nil || !cmp.Equal(got, []string{idA}) {
			t.Errorf("tenant A sees %v, %v; want [%s]", got, err, idA)
		}
		n, err := count(r.ctx, r.app.Pool(), "bff.outbox")
		if err != nil || n != 0 {
			t.Errorf("without a tenant the app sees %d rows, %v; want 0", n, err)
		}
	})

	t.Run("app cannot insert, delete or change another tenant's rows", func(t *testing.T) {
		_, err := r.inTenant(tenantA, insertOutbox, ids.New(ids.Event), tenantB)
		wantSQLState(t, "insert B's row as A", err, "42501")
		deleted, err := r.inTenant(tenantA, "DELETE FROM bff.outbox WHERE id = $1", idB)
		if err != nil || deleted != 0 {
			t.Errorf("A deleting B's row: %d rows, %v; want 0", deleted, err)
		}
		for _, stmt := range []string{
			"UPDATE bff.outbox SET attempts = attempts + 1",
			"UPDATE bff.outbox SET envelope = '\\x00'",
			"TRUNCATE bff.outbox",
		} {
			_, err := r.inTenant(tenantA, stmt)
			wantSQLState(t, "app "+stmt, err, "42501")
		}
	})

	t.Run("jobs reads every tenant, changes only retry columns, cannot insert", func(t *testing.T) {
		var got []string
		err := r.jobs.InJobsTx(r.ctx, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			got, err = outboxIDs(ctx, tx)
			return err
		})
		want := []string{idA, idB}
		if idB < idA {
			want = []string{idB, idA}
		}
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("jobs sees %v, %v; want %v", got, err, want)
		}
		if _, err := r.asJobs("UPDATE bff.outbox SET attempts = attempts + 1, last_error = 'x', next_attempt_at = now()"); err != nil {
			t.Errorf("jobs updating the retry columns: %v", err)
		}
		for _, stmt := range []string{
			"UPDATE bff.outbox SET tenant_id = '" + tenantA + "'",
			"UPDATE bff.outbox SET envelope = '\\x00'",
			"TRUNCATE bff.outbox",
		} {
			_, err := r.asJobs(stmt)
			wantSQLState(t, "jobs "+stmt, err, "42501")
		}
		_, err = r.asJobs(insertOutbox, ids.New(ids.Event), tenantA)
		wantSQLState(t, "jobs insert", err, "42501")
	})

	t.Run("jobs drains every tenant", func(t *testing.T) {
		var taken []string
		err := r.jobs.InJobsTx(r.ctx, func(ctx context.Context, tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "SELECT id FROM bff.outbox ORDER BY created_at FOR UPDATE SKIP LOCKED")
			if err != nil {
				return err
			}
			if taken, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, "DELETE FROM bff.outbox WHERE id = ANY($1)", taken)
			return err
		})
		if err != nil || len(taken) != 2 {
			t.Fatalf("jobs took %v, %v; want both tenants' rows", taken, err)
		}
		// The superuser bypasses RLS: it sees what is really left.
		n, err := count(r.ctx, connect(t, r.info.AdminURL), "bff.outbox")
		if err != nil || n != 0 {
			t.Errorf("rows left = %d, %v", n, err)
		}
	})
}
