package verifyledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	verifyledger "github.com/melmastoon/bff-backoffice/functions/verify-ledger"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// A clean ledger answers ok; a row deleted behind the triggers' back is
// reported in the answer and logged at ERROR with its tenant and link.
func TestRunReportsAndLogsBreaks(t *testing.T) {
	t.Parallel()
	app, info := testenv.Postgres(t)
	jobs := testenv.JobsDB(t, info)
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)
	var es []activity.Entry
	for i := range 10 {
		es = append(es, activity.Entry{TenantID: tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
			Category: activity.CategoryView, Action: "dashboard.viewed", Outcome: activity.OutcomeSuccess, LatencyMs: i, RequestID: "r"})
	}
	if err := app.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error { return activity.InsertTx(ctx, tx, es...) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		sum, err := ledgerchain.Seal(ctx, jobs, ledgerchain.SealOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows == 10 {
			break
		}
		if sum.Rows != 0 || time.Now().After(deadline) {
			t.Fatalf("sealed %d rows", sum.Rows)
		}
		time.Sleep(50 * time.Millisecond) // the cluster's horizon has not passed the rows yet
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	sum, err := verifyledger.Run(ctx, jobs, log)
	if err != nil || !sum.OK || sum.Rows != 10 {
		t.Fatalf("clean: %+v, %v", sum, err)
	}

	var victim string
	if err := jobs.Pool().QueryRow(ctx, "SELECT activity_id FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 4", tenant).Scan(&victim); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, info.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	for _, s := range []string{
		"ALTER TABLE bff.operator_activity DISABLE TRIGGER operator_activity_append_only",
		"ALTER TABLE bff.operator_activity NO FORCE ROW LEVEL SECURITY",
		"DELETE FROM bff.operator_activity WHERE id = '" + victim + "'",
	} {
		if _, err := owner.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	logs.Reset()
	sum, err = verifyledger.Run(ctx, jobs, log)
	if err != nil || sum.OK || len(sum.Breaks) != 1 {
		t.Fatalf("after a deletion: %+v, %v", sum, err)
	}
	b := sum.Breaks[0]
	if b.TenantID != tenant || b.Seq != 4 || b.ActivityID != victim || b.Kind != ledgerchain.Deleted {
		t.Fatalf("break %+v", b)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["level"] == "ERROR" && rec["tenantId"] == tenant && rec["seq"] == float64(4) && rec["kind"] == "deleted" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no ERROR record of the break in:\n%s", logs.String())
	}
}
