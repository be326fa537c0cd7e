package devserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// Locally, POST /_jobs/<name> plays Cloud Scheduler: the outbox relay
// mounted there drains the outbox through the jobs role.
func TestScheduledFunctionsRunOnPOST(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	app, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	project := testenv.ProjectID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pubsubevents.EnsureTopics(ctx, project, events.AlertAcknowledged); err != nil {
		t.Fatal(err)
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: root, DatabaseURL: info.AppURL, JobsDatabaseURL: info.JobsURL,
		RedisAddr: rdb.Options().Addr, RedisPrefix: rdb.Prefix, ProjectID: project,
		Log: logtest.TestLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	// Rows older than the relay's minimum age, as Send's misses would be
	// by the time Cloud Scheduler calls.
	tenant := ids.New(ids.Tenant)
	const n = 3
	if err := app.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		for i := range n {
			e, err := events.New(events.AlertAcknowledged, tenant, "", map[string]int{"i": i})
			if err != nil {
				return err
			}
			if err := outbox.Add(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, info.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "UPDATE bff.outbox SET created_at = created_at - interval '1 minute'"); err != nil {
		t.Fatal(err)
	}

	url := srv.BaseURL + devserver.JobPath("outbox-relay")
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st outbox.DrainStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK || st.Published != n {
		t.Errorf("POST %s = %d %+v (%v), want 200 with %d published", url, resp.StatusCode, st, err, n)
	}
	var left int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM bff.outbox").Scan(&left); err != nil || left != 0 {
		t.Errorf("outbox rows left = %d, %v", left, err)
	}
}

// POST /_jobs/export-activity exports the ledger into the BigQuery fake:
// rows committed before the run are in the table (GET
// /__tables/{dataset}/{table}/rows) once, and the stack file lists the job
// and the fake.
func TestExportActivityRunsOnPOST(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	app, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: root, DatabaseURL: info.AppURL, JobsDatabaseURL: info.JobsURL,
		RedisAddr: rdb.Options().Addr, RedisPrefix: rdb.Prefix, ProjectID: testenv.ProjectID(t),
		Log: logtest.TestLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	sf, err := srv.StackFile(root)
	if err != nil {
		t.Fatal(err)
	}
	if sf.Upstreams["bigquery"] == "" || !slices.Contains(sf.Jobs, "export-activity") || !slices.Contains(sf.Jobs, "outbox-relay") {
		t.Fatalf("stack file: upstreams %v, jobs %v", sf.Upstreams, sf.Jobs)
	}
	// The stack has the audit table before any export, as production
	// has it from terraform: verify-ledger on a fresh stack finds an empty
	// export, not a missing table.
	if code, rep := verifyLedger(t, srv.BaseURL); code != http.StatusOK || !rep.OK || rep.Export.Rows != 0 {
		t.Fatalf("verify-ledger before any export = %d %+v", code, rep)
	}
	tenant := ids.New(ids.Tenant)
	if err := app.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		return activity.InsertTx(ctx, tx, activity.Entry{TenantID: tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
			Category: activity.CategoryAuth, Action: activity.ActionSessionOpened, Outcome: activity.OutcomeSuccess, RequestID: "r"})
	}); err != nil {
		t.Fatal(err)
	}
	// The export takes rows below the cluster's oldest running transaction;
	// on a test cluster shared with other tests, wait for it to pass ours.
	jobs, err := pgx.Connect(ctx, info.JobsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close(context.Background())
	for below := false; !below; {
		if err := jobs.QueryRow(ctx, `SELECT bool_and(recorded_xid < pg_snapshot_xmin(pg_current_snapshot())) FROM bff.operator_activity`).Scan(&below); err != nil {
			t.Fatal(err)
		}
		if !below {
			select {
			case <-ctx.Done():
				t.Fatal("the export horizon never passed the row")
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	run := func() map[string]any {
		t.Helper()
		res, err := http.Post(srv.BaseURL+devserver.JobPath("export-activity"), "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var sum map[string]any
		if err := json.NewDecoder(res.Body).Decode(&sum); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("export-activity = %d %v %v", res.StatusCode, sum, err)
		}
		return sum
	}
	if sum := run(); sum["rows"] != float64(1) {
		t.Fatalf("first run: %v, want 1 row", sum)
	}
	if sum := run(); sum["rows"] != float64(0) {
		t.Fatalf("second run: %v, want nothing new", sum)
	}
	res, err := http.Get(sf.Upstreams["bigquery"] + "/__tables/melmastoon_audit/operator_activity/rows")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tbl struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tbl); err != nil || len(tbl.Rows) != 1 || tbl.Rows[0]["tenantId"] != tenant ||
		tbl.Rows[0]["chainSeq"] != float64(1) {
		t.Fatalf("table rows %v, %v", tbl.Rows, err)
	}

	// The export sealed the row; POST /_jobs/verify-ledger verifies its
	// chain.
	if !slices.Contains(sf.Jobs, "verify-ledger") {
		t.Fatalf("stack file jobs %v lack verify-ledger", sf.Jobs)
	}
	if code, rep := verifyLedger(t, srv.BaseURL); code != http.StatusOK || !rep.OK || rep.Rows != 1 || rep.Heads[tenant] == nil || rep.Export.Rows != 1 {
		t.Fatalf("verify-ledger = %d %+v", code, rep)
	}
}

// ledgerReport is the part of verify-ledger's answer the tests read: the
// Postgres report's fields at the top, the export's under "export".
type ledgerReport struct {
	OK     bool           `json:"ok"`
	Rows   int            `json:"rows"`
	Breaks []any          `json:"breaks"`
	Heads  map[string]any `json:"heads"`
	Export struct {
		Rows   int   `json:"rows"`
		Breaks []any `json:"breaks"`
	} `json:"export"`
}

// verifyLedger runs POST /_jobs/verify-ledger as Cloud Scheduler would.
func verifyLedger(t *testing.T, baseURL string) (int, ledgerReport) {
	t.Helper()
	res, err := http.Post(baseURL+devserver.JobPath("verify-ledger"), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rep ledgerReport
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil && res.StatusCode == http.StatusOK {
		t.Fatalf("verify-ledger answer: %v", err)
	}
	return res.StatusCode, rep
}
