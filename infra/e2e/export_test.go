package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/functions/export-activity/export"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	fakebq "github.com/melmastoon/bff-backoffice/infra/fakes/bigquery"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

type exportEnv struct {
	app, jobs *pg.DB
	info      testenv.PGInfo
	bq        *fakebq.Service
	client    *bigquery.Client
	tenants   []string
}

func newExportEnv(t *testing.T) *exportEnv {
	t.Helper()
	app, info := testenv.Postgres(t)
	s := fakebq.New(fakes.WithLatency(0, 0))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := bigquery.NewClient(context.Background(), "audit-proj",
		option.WithEndpoint(srv.URL+"/bigquery/v2/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &exportEnv{app: app, jobs: testenv.JobsDB(t, info), info: info, bq: s, client: c,
		tenants: []string{ids.New(ids.Tenant), ids.New(ids.Tenant), ids.New(ids.Tenant)}}
}

func exportEntry(tenant string, at time.Time, i int) activity.Entry {
	e := activity.Entry{TenantID: tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		OccurredAt: at, Category: activity.CategoryView, Action: "dashboard.viewed", Outcome: activity.OutcomeSuccess,
		LatencyMs: i % 97, RequestID: "req-x"}
	if i%3 != 0 {
		e.PropertyID, e.SessionID = ids.New(ids.Property), ids.New(ids.Session)
	}
	if i%5 == 0 {
		e.Outcome, e.Error = activity.OutcomeFailure, &activity.ErrorInfo{Code: "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE", Message: "no"}
		e.Resource = &activity.Ref{Kind: "reservation", ID: "rsv_1"}
	}
	if i%7 == 0 {
		e.ContextHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	}
	return e
}

// insert writes n rows spread over the tenants, in transactions of 100.
func (x *exportEnv) insert(t *testing.T, n int) {
	t.Helper()
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 100 {
		tn := x.tenants[(i/100)%len(x.tenants)]
		var es []activity.Entry
		for j := i; j < min(i+100, n); j++ {
			es = append(es, exportEntry(tn, base.Add(time.Duration(j)*time.Second), j))
		}
		if err := x.app.InTenantTx(context.Background(), tn, func(ctx context.Context, tx pgx.Tx) error {
			return activity.InsertTx(ctx, tx, es...)
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitExportable waits until at least n rows are below the export's
// horizon. The horizon is the cluster's oldest running transaction, in
// any database: on a test cluster shared with other tests a transaction
// held open elsewhere holds it back for a while (as any long transaction
// on the Cloud SQL instance would in production).
func (x *exportEnv) waitExportable(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got int
		err := x.jobs.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM bff.operator_activity WHERE recorded_xid < pg_snapshot_xmin(pg_current_snapshot())`).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d rows below the export horizon after 60 s: a transaction stays open on the cluster", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (x *exportEnv) run(ctx context.Context, o export.Options) (export.Summary, error) {
	o.Dataset, o.Table, o.JobPrefix = "melmastoon_audit", "operator_activity", "test"
	if o.BatchRows == 0 {
		o.BatchRows = 400
	}
	return export.Run(ctx, x.jobs, x.client, o)
}

// ledger is every row in Postgres, as the export writes it, by id.
func (x *exportEnv) ledger(t *testing.T) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, x.info.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT json_build_object(
  'id', id, 'tenantId', tenant_id, 'propertyId', property_id, 'operatorId', operator_id, 'deviceId', device_id,
  'sessionId', session_id, 'occurredAt', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  'category', category, 'action', action,
  'resourceRef', CASE WHEN resource_kind IS NULL THEN NULL ELSE json_build_object('kind', resource_kind, 'id', resource_id) END,
  'outcome', outcome, 'latencyMs', latency_ms,
  'error', CASE WHEN error_code IS NULL THEN NULL ELSE json_build_object('code', error_code, 'message', error_message) END,
  'contextHash', context_hash, 'requestId', request_id)::text FROM bff.operator_activity`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		out[m["id"].(string)] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// exactlyOnce compares the fake's table with the ledger row by row.
func (x *exportEnv) exactlyOnce(t *testing.T) {
	t.Helper()
	want := x.ledger(t)
	got := map[string]map[string]any{}
	// The rows carry their tenants' hash chains, whole and equal to what
	// Postgres holds.
	var exported []ledgerchain.Exported
	for _, raw := range x.bq.Rows("melmastoon_audit", "operator_activity") {
		var e ledgerchain.Exported
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		exported = append(exported, e)
	}
	xrep := ledgerchain.VerifyExported(exported)
	prep, err := ledgerchain.VerifyPostgres(context.Background(), x.jobs)
	if err != nil {
		t.Fatal(err)
	}
	if !xrep.OK() || !prep.OK() || xrep.Rows != int64(len(want)) {
		t.Fatalf("chains: export %d rows, breaks %v; postgres breaks %v; want %d rows, none", xrep.Rows, xrep.Breaks, prep.Breaks, len(want))
	}
	if diff := cmp.Diff(prep.Heads, xrep.Heads); diff != "" {
		t.Fatalf("chain heads (-postgres +export):\n%s", diff)
	}
	for _, raw := range x.bq.Rows("melmastoon_audit", "operator_activity") {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "chainSeq")
		delete(m, "prevHash")
		delete(m, "chainHash")
		// RFC 3339 as Go writes it drops trailing zeros; compare instants.
		at, err := time.Parse(time.RFC3339Nano, m["occurredAt"].(string))
		if err != nil {
			t.Fatal(err)
		}
		m["occurredAt"] = at.UTC().Format("2006-01-02T15:04:05.000000Z")
		id := m["id"].(string)
		if _, dup := got[id]; dup {
			t.Fatalf("row %s exported twice", id)
		}
		got[id] = m
	}
	if len(got) != len(want) {
		t.Errorf("BigQuery holds %d rows, the ledger %d", len(got), len(want))
	}
	for id, w := range want {
		if diff := cmp.Diff(w, got[id]); diff != "" {
			t.Fatalf("row %s (-ledger +BigQuery):\n%s", id, diff)
		}
	}
}

// Two runs at once, a run killed after BigQuery took a batch and before
// the watermark moved, a connection dropped after BigQuery accepted a job,
// and a transaction that commits an older row while runs go on: every row
// lands exactly once.
func TestExportExactlyOnce(t *testing.T) {
	t.Parallel()
	x := newExportEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x.insert(t, 2500)

	// A transaction that wrote an old row (occurred yesterday) and has
	// not committed: its xid is below rows written after it.
	late, err := x.app.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback(ctx) //nolint:errcheck // committed below
	// Held open on purpose across several runs (each seals before it
	// exports): longer than the pool's idle-in-transaction bound.
	if _, err := late.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true), set_config('idle_in_transaction_session_timeout', '120000', true)", x.tenants[0]); err != nil {
		t.Fatal(err)
	}
	if err := activity.InsertTx(ctx, late, exportEntry(x.tenants[0], time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), 1)); err != nil {
		t.Fatal(err)
	}
	x.insert(t, 300) // committed after the late row's transaction began
	x.waitExportable(t, 2500)

	// Killed between BigQuery and the watermark on batch 2.
	killed := errors.New("killed")
	sum, err := x.run(ctx, export.Options{BeforeMark: func(seq int64) error {
		if seq == 2 {
			return killed
		}
		return nil
	}})
	if !errors.Is(err, killed) || sum.Batches != 1 {
		t.Fatalf("killed run: %+v, %v", sum, err)
	}
	// The next load's connection drops after BigQuery accepted it.
	if err := x.bq.SetFault(fakes.Fault{Path: "/upload/", DropAfter: true}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sums := make([]export.Summary, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { sums[i], errs[i] = x.run(ctx, export.Options{}) })
	}
	// Let the first load through the fault, then lift it.
	time.Sleep(300 * time.Millisecond)
	x.bq.ClearFaults()
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
	}
	t.Logf("overlapping runs: %+v / %+v", sums[0], sums[1])
	if sums[0].Resumed+sums[1].Resumed != 1 {
		t.Errorf("the killed batch was resumed %d times, want once", sums[0].Resumed+sums[1].Resumed)
	}
	// The late row is not exported while its transaction is open, and
	// neither is anything after its xid; nothing is lost.
	if n := len(x.bq.Rows("melmastoon_audit", "operator_activity")); n >= 2801 {
		t.Fatalf("%d rows exported while a transaction below them was open", n)
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	x.waitExportable(t, 2801)
	if _, err := x.run(ctx, export.Options{}); err != nil {
		t.Fatal(err)
	}
	x.exactlyOnce(t)
	// A run with nothing new does nothing.
	sum, err = x.run(ctx, export.Options{})
	if err != nil || sum.Batches != 0 || sum.Watermark == "" {
		t.Fatalf("idle run: %+v %v", sum, err)
	}
	x.exactlyOnce(t)
}

// A job BigQuery runs and fails (a row the table refuses) loads nothing;
// its id is spent, so the batch's next try uses its next attempt's id (the
// same id would only be refused as a duplicate, forever).
func TestExportFailedJobRetriesUnderANewID(t *testing.T) {
	t.Parallel()
	x := newExportEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x.insert(t, 50)
	x.waitExportable(t, 50)
	// A table without requestId: every load of the exporter's rows fails.
	tbl := x.client.Dataset("melmastoon_audit").Table("operator_activity")
	if err := tbl.Create(ctx, &bigquery.TableMetadata{Schema: export.Schema[:len(export.Schema)-1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.run(ctx, export.Options{}); err == nil {
		t.Fatal("a run whose load failed succeeded")
	}
	if n := len(x.bq.Rows("melmastoon_audit", "operator_activity")); n != 0 {
		t.Fatalf("%d rows from a failed job", n)
	}
	var attempt int
	if err := x.jobs.Pool().QueryRow(ctx, "SELECT attempt FROM bff.activity_export_batch WHERE seq = 1").Scan(&attempt); err != nil || attempt != 2 {
		t.Fatalf("attempt %d, %v; want 2", attempt, err)
	}
	if _, err := x.run(ctx, export.Options{}); err == nil {
		t.Fatal("the second run succeeded against the same table")
	}
	if err := x.jobs.Pool().QueryRow(ctx, "SELECT attempt FROM bff.activity_export_batch WHERE seq = 1").Scan(&attempt); err != nil || attempt != 3 {
		t.Fatalf("attempt %d, %v; want 3", attempt, err)
	}
	for _, a := range []int{1, 2} {
		job, err := x.client.JobFromID(ctx, export.JobID("test", 1, "0", jobEnd(t, x), a))
		if err != nil {
			t.Fatalf("attempt %d's job: %v", a, err)
		}
		if st := job.LastStatus(); st.Err() == nil {
			t.Fatalf("attempt %d's job succeeded", a)
		}
	}
}

func jobEnd(t *testing.T, x *exportEnv) string {
	t.Helper()
	var to string
	if err := x.jobs.Pool().QueryRow(context.Background(), "SELECT to_xid::text FROM bff.activity_export_batch WHERE seq = 1").Scan(&to); err != nil {
		t.Fatal(err)
	}
	return to
}

// A batch's rows stream while BigQuery reads the upload, which can take far
// longer than the pool's statement timeout (sized for queries): the
// export's own statement has the job's bound instead.
func TestExportOutlastsTheStatementTimeout(t *testing.T) {
	t.Parallel()
	x := newExportEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x.insert(t, 20000) // megabytes: more than the socket buffers hold
	x.waitExportable(t, 20000)
	// Sealed first, on the ordinary pool: what this test bounds is the
	// upload's statement, not the seal's transactions (whose client-side
	// hashing can leave one idle past a 1 s idle-in-transaction timeout on
	// a loaded machine).
	if _, err := ledgerchain.Seal(ctx, x.jobs, ledgerchain.SealOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := pg.Open(ctx, pg.Config{URL: x.info.JobsURL, MaxConns: 4, StatementTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close()
	// BigQuery starts reading the upload only after 4 s.
	if err := x.bq.SetFault(fakes.Fault{Path: "/upload/", LatencyMs: 4000}); err != nil {
		t.Fatal(err)
	}
	sum, err := export.Run(ctx, jobs, x.client, export.Options{Dataset: "melmastoon_audit", Table: "operator_activity", JobPrefix: "slow", BatchRows: 20000})
	if err != nil || sum.Rows != 20000 {
		t.Fatalf("slow upload: %+v, %v", sum, err)
	}
	x.exactlyOnce(t)
}

// Each exported batch puts its sample of operator.activity.v1 events in the
// outbox with its mark: the rows the id hash picks, each event named after
// its row, once, whatever reruns follow.
func TestExportSamplesActivityEvents(t *testing.T) {
	t.Parallel()
	x := newExportEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x.insert(t, 3000)
	x.waitExportable(t, 3000)
	o := export.Options{EventSample: 0.05}
	if _, err := x.run(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := x.run(ctx, o); err != nil { // nothing new: no new events
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, x.info.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	want := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT 'evt_' || substr(id, 5), tenant_id FROM bff.operator_activity
 WHERE (hashtextextended(id, 0) & 65535) < $1`, int64(3276))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, tn string
		if err := rows.Scan(&id, &tn); err != nil {
			t.Fatal(err)
		}
		want[id] = tn
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(want) < 75 || len(want) > 250 {
		t.Fatalf("%d of 3000 rows sampled at 5%%", len(want))
	}
	got := map[string]string{}
	rows, err = conn.Query(ctx, `SELECT id, tenant_id, envelope FROM bff.outbox WHERE subject = 'melmastoon.bff.backoffice.operator.activity.v1'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, tn string
		var env []byte
		if err := rows.Scan(&id, &tn, &env); err != nil {
			t.Fatal(err)
		}
		var ev struct {
			ID, TenantID string
			Data         export.ActivityEvent
		}
		if err := json.Unmarshal(env, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != id || ev.TenantID != tn || "evt_"+ev.Data.ActivityID[4:] != id || ev.Data.Action != "dashboard.viewed" {
			t.Fatalf("event %s of %s: %s", id, tn, env)
		}
		got[id] = tn
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("sampled events (-rows picked +outbox):\n%s", diff)
	}
}

// Batches are planned in (recorded_xid, id) order as numbers, not as the
// text the plan reads them back as: with xids on both sides of a decimal
// digit boundary ("999" sorts after "1000" as text) every batch still ends
// where its rows do, and the run's summary counts every row it exported.
// The xids are written explicitly (as the owner, which the default allows)
// so the boundary does not depend on the cluster's xid counter.
func TestExportPlansAcrossAnXIDDigitBoundary(t *testing.T) {
	t.Parallel()
	x := newExportEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, x.info.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var rows [][]any
	for xid := 990; xid < 1010; xid++ {
		for j := range 10 {
			i := (xid-990)*10 + j
			e := exportEntry(x.tenants[i%len(x.tenants)], base.Add(time.Duration(i)*time.Second), i)
			rows = append(rows, []any{ids.New(ids.Activity), e.TenantID, e.OperatorID, e.DeviceID, e.OccurredAt,
				string(e.Category), e.Action, string(e.Outcome), int32(e.LatencyMs), e.RequestID, strconv.Itoa(xid)})
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"bff", "operator_activity"},
		[]string{"id", "tenant_id", "operator_id", "device_id", "occurred_at", "category", "action", "outcome", "latency_ms", "request_id", "recorded_xid"},
		pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	sum, err := x.run(ctx, export.Options{BatchRows: 30, MaxBatches: 100})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 200 || sum.Batches != 7 || sum.More {
		t.Errorf("summary %+v; want 200 rows in 7 batches", sum)
	}
	// Every batch holds the rows it planned.
	brows, err := conn.Query(ctx, `SELECT b.seq, b.row_count, (SELECT count(*) FROM bff.operator_activity a
 WHERE (a.recorded_xid, a.id) > (b.from_xid, b.from_id) AND (a.recorded_xid, a.id) <= (b.to_xid, b.to_id))
  FROM bff.activity_export_batch b ORDER BY b.seq`)
	if err != nil {
		t.Fatal(err)
	}
	for brows.Next() {
		var seq, planned, held int64
		if err := brows.Scan(&seq, &planned, &held); err != nil {
			t.Fatal(err)
		}
		if planned != held {
			t.Errorf("batch %d planned %d rows, its range holds %d", seq, planned, held)
		}
	}
	if err := brows.Err(); err != nil {
		t.Fatal(err)
	}
	x.exactlyOnce(t)
}
