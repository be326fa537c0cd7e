package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/functions/retention"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// databases gives a test a database of its own as the app role (which
// writes the rows retention works on) and as the jobs role (which
// retention runs as), and what else there is to know about it (the
// owner's URL).
func databases(t *testing.T) (app, jobs *pg.DB, info testenv.PGInfo) {
	t.Helper()
	app, info = testenv.Postgres(t)
	return app, testenv.JobsDB(t, info), info
}

func insert(t *testing.T, app *pg.DB, tenant string, n int, age time.Duration) {
	t.Helper()
	var es []activity.Entry
	for range n {
		es = append(es, activity.Entry{TenantID: tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
			OccurredAt: time.Now().Add(-age), Category: activity.CategoryView, Action: "dashboard.viewed",
			Outcome: activity.OutcomeSuccess, RequestID: "r"})
	}
	if err := app.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
		return activity.InsertTx(ctx, tx, es...)
	}); err != nil {
		t.Fatal(err)
	}
}

// exportUpTo marks the first n rows in the exporter's order exported, as
// export-activity does once BigQuery has them.
func exportUpTo(t *testing.T, jobs *pg.DB, seq int64, n int) {
	t.Helper()
	ctx := context.Background()
	var from, fromID string = "0", ""
	if seq > 1 {
		if err := jobs.Pool().QueryRow(ctx, "SELECT to_xid::text, to_id FROM bff.activity_export_batch WHERE seq = $1", seq-1).Scan(&from, &fromID); err != nil {
			t.Fatal(err)
		}
	}
	var to, toID string
	if err := jobs.Pool().QueryRow(ctx, "SELECT a.recorded_xid::text, a.id FROM bff.operator_activity a ORDER BY a.recorded_xid, a.id OFFSET $1 LIMIT 1", n-1).Scan(&to, &toID); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Pool().Exec(ctx, `INSERT INTO bff.activity_export_batch (seq, from_xid, from_id, to_xid, to_id, row_count, exported_at)
VALUES ($1, $2::xid8, $3, $4::xid8, $5, $6, now())`, seq, from, fromID, to, toID, n); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, jobs *pg.DB) (old, young int) {
	t.Helper()
	if err := jobs.Pool().QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE occurred_at < now() - interval '90 days'),
       count(*) FILTER (WHERE occurred_at >= now() - interval '90 days') FROM bff.operator_activity`).Scan(&old, &young); err != nil {
		t.Fatal(err)
	}
	return old, young
}

// retention deletes exported rows older than 90 days and nothing else; a
// caller that asks for more (a DELETE of everything, as bff_jobs) gets
// only what the database's policy lets go.
func TestRetentionDeletesOnlyExportedOldRows(t *testing.T) {
	t.Parallel()
	app, jobs, _ := databases(t)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)
	insert(t, app, tenant, 20, 100*24*time.Hour) // old, exported below
	insert(t, app, tenant, 10, 100*24*time.Hour) // old, not exported
	insert(t, app, tenant, 10, 10*24*time.Hour)  // hot

	// Nothing exported yet: nothing may go, whoever asks.
	if tag, err := jobs.Pool().Exec(ctx, "DELETE FROM bff.operator_activity"); err != nil || tag.RowsAffected() != 0 {
		t.Fatalf("delete before any export: %v rows, %v", tag.RowsAffected(), err)
	}
	exportUpTo(t, jobs, 1, 20)
	sum, err := retention.Run(ctx, jobs, retention.Options{BatchRows: 7})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Deleted != 20 {
		t.Fatalf("run: %+v, want the 20 exported old rows deleted", sum)
	}
	if old, young := count(t, jobs); old != 10 || young != 10 {
		t.Fatalf("left %d old, %d hot; want 10 and 10", old, young)
	}
	// Everything exported now; a buggy caller deletes everything it can:
	// the old rows go, the hot ones stay.
	exportUpTo(t, jobs, 2, 20)
	tag, err := jobs.Pool().Exec(ctx, "DELETE FROM bff.operator_activity")
	if err != nil || tag.RowsAffected() != 10 {
		t.Fatalf("delete everything: %d rows, %v; want 10", tag.RowsAffected(), err)
	}
	if old, young := count(t, jobs); old != 0 || young != 10 {
		t.Fatalf("left %d old, %d hot; want 0 and 10", old, young)
	}
	if sum, err := retention.Run(ctx, jobs, retention.Options{}); err != nil || sum.Deleted != 0 {
		t.Fatalf("idle run: %+v %v", sum, err)
	}
	// The app role deletes nothing at all.
	err = app.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM bff.operator_activity")
		return err
	})
	if err == nil {
		t.Fatal("the app role deleted from the ledger")
	}
}
