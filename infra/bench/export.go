package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/jackc/pgx/v5"
	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/functions/export-activity/export"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	fakebq "github.com/melmastoon/bff-backoffice/infra/fakes/bigquery"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// exportDefaultRows is the target's volume: 1,000,000 activity rows.
const exportDefaultRows = 1_000_000

// Export measures export-activity over a ledger of Options.ExportRows rows
// (default 1,000,000): the run (sealing the rows into their hash chains,
// then streaming them into BigQuery load jobs, here the fake) as a process
// of its own (this binary again, see exportRunEnv), timed, and its peak RSS as the kernel
// counted it; against reading the same rows in the export's order with
// COPY … TO STDOUT.
func Export(ctx context.Context, env Env, o Options) (*Report, error) {
	n := o.ExportRows
	if n <= 0 {
		n = exportDefaultRows
	}
	rep := newReport("export", fmt.Sprintf("export-activity of %d activity rows (seal + load jobs) as its own process vs COPY … TO STDOUT", n))
	admin, err := pgx.Connect(ctx, env.AdminURL)
	if err != nil {
		return nil, fmt.Errorf("export: connect admin: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	server, err := readPGServer(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if wn := server.warning(); wn != "" {
		rep.Warnings = append(rep.Warnings, wn)
	}

	// The ledger: 64 operators over 10 tenants, loaded with COPY (not
	// measured here; ledger-throughput is that scenario).
	load, err := rawCopy(ctx, admin, entries(64, 10), n)
	if err != nil {
		return nil, fmt.Errorf("export: load: %w", err)
	}
	if err := waitBelowHorizon(ctx, admin, n); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}

	base, err := copyOut(ctx, admin, n)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}

	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	fake := fakebq.New(fakes.WithLatency(0, 0))
	srv := httptest.NewServer(fake)
	defer srv.Close()

	batchRows := o.ExportBatchRows
	if batchRows <= 0 {
		batchRows = 50_000
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s/bigquery/v2/ %d", exportRunEnv, env.JobsURL, srv.URL, batchRows))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("export: exportrun: %w: %s", err, stderr.String())
	}
	var sum export.Summary
	if err := json.Unmarshal(out, &sum); err != nil {
		return nil, fmt.Errorf("export: exportrun's summary %q: %w", out, err)
	}
	landed := len(fake.Rows("melmastoon_audit", "operator_activity"))
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, errors.New("export: no rusage for the export process")
	}
	rssMiB := float64(ru.Maxrss) / 1024 // Linux: KiB
	run := Run{Name: "export-activity (own process)", Concurrency: 1, Unit: "row", OK: uint64(landed),
		Seconds: round3(elapsed.Seconds()), PerSecond: round1(float64(landed) / elapsed.Seconds()),
		Extra: map[string]float64{"peakRssMiB": round3(rssMiB), "sealed": float64(sum.Sealed), "batches": float64(sum.Batches),
			"exportedRows": float64(sum.Rows), "resumed": float64(sum.Resumed), "cpuSeconds": round3(cpuSeconds(ru))}}
	if landed != n || sum.Rows != int64(n) {
		run.Failed = uint64(n - min(n, landed))
		run.Errors = append(run.Errors, fmt.Sprintf("%d rows in BigQuery (%d distinct), %d exported by the run, %d in the ledger; summary %s",
			landed, distinctRows(fake), sum.Rows, n, strings.TrimSpace(string(out))))
	}
	rep.Runs = append(rep.Runs, run, base)
	rep.Settings = map[string]any{"rows": n, "tenants": 10, "batchRows": batchRows, "sealBatchRows": 5000, "postgres": server,
		"loadRowsPerSecond": load.PerSecond}
	rep.Figures = []Figure{
		{Name: "export peak RSS", Value: round3(rssMiB), Unit: "MiB", Target: "< 128 MiB", Met: met(rssMiB < 128),
			How: "getrusage ru_maxrss of the export's process (the bench binary re-run in export mode): one whole run, seal and export"},
		{Name: "export rows/s", Value: run.PerSecond, Unit: "rows/s",
			How: "rows landed in the BigQuery fake / the process's wall time (sealing included)"},
		{Name: "COPY TO STDOUT rows/s", Value: base.PerSecond, Unit: "rows/s",
			How: "the same rows in (recorded_xid, id) order, one COPY, superuser, discarded"},
		{Name: "export / COPY TO STDOUT", Value: round3(ratio(run.PerSecond, base.PerSecond)), Unit: "×",
			How: "export rows/s divided by COPY rows/s"},
	}
	rep.Notes = []string{
		"The export process seals every row first (ledgerchain.Seal: 5,000 rows a transaction, a link row each) and then streams each batch (50,000 rows unless set otherwise) from a Postgres cursor into a load job as newline-delimited JSON; the BigQuery fake runs in the bench process, so its memory is not in the export's RSS.",
		"COPY TO STDOUT is the floor of reading the rows out of Postgres: no hashing, no JSON, no HTTP, no chain writes.",
	}
	return rep, nil
}

// distinctRows counts the fake's rows by id.
func distinctRows(fake *fakebq.Service) int {
	seen := map[string]bool{}
	for _, raw := range fake.Rows("melmastoon_audit", "operator_activity") {
		var r struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &r) == nil {
			seen[r.ID] = true
		}
	}
	return len(seen)
}

func cpuSeconds(ru *syscall.Rusage) float64 {
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// waitBelowHorizon waits until n rows are below the export's horizon (the
// cluster's oldest running transaction).
func waitBelowHorizon(ctx context.Context, conn *pgx.Conn, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var got int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM bff.operator_activity WHERE recorded_xid < pg_snapshot_xmin(pg_current_snapshot())`).Scan(&got); err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d rows below the export horizon after 2 minutes: a transaction stays open on the cluster", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// copyOut reads the ledger with COPY … TO STDOUT in the export's order.
func copyOut(ctx context.Context, conn *pgx.Conn, n int) (Run, error) {
	run := Run{Name: "COPY TO STDOUT (superuser)", Concurrency: 1, Unit: "row"}
	var w countingWriter
	start := time.Now()
	tag, err := conn.PgConn().CopyTo(ctx, &w, `COPY (SELECT id, tenant_id, property_id, operator_id, device_id, session_id, occurred_at,
       category, action, resource_kind, resource_id, outcome, latency_ms, error_code, error_message, context_hash, request_id
  FROM bff.operator_activity ORDER BY recorded_xid, id) TO STDOUT`)
	if err != nil {
		return run, fmt.Errorf("COPY TO STDOUT: %w", err)
	}
	elapsed := time.Since(start)
	run.OK = uint64(tag.RowsAffected())
	run.Seconds = round3(elapsed.Seconds())
	run.PerSecond = round1(float64(run.OK) / elapsed.Seconds())
	run.Extra = map[string]float64{"bytes": float64(w)}
	if int(run.OK) != n {
		run.Errors = append(run.Errors, fmt.Sprintf("COPY read %d rows, want %d", run.OK, n))
	}
	return run, nil
}

type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// exportRunEnv, set in a process's environment, makes that process (a
// copy of the bench binary, or of this package's test binary) run one
// export and exit: the export gets a process of its own, whose peak RSS
// the kernel reports, without building another binary.
const exportRunEnv = "BFF_BENCH_EXPORT_RUN"

func init() {
	if spec := os.Getenv(exportRunEnv); spec != "" {
		if err := exportRun(spec); err != nil {
			fmt.Fprintln(os.Stderr, "export run:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// exportRun is the child's whole life: spec is "<jobs URL> <BigQuery
// endpoint> <batch rows>"; the run's summary goes to stdout as JSON.
func exportRun(spec string) error {
	f := strings.Fields(spec)
	var batchRows int
	if len(f) == 3 {
		batchRows, _ = strconv.Atoi(f[2])
	}
	if batchRows <= 0 {
		return fmt.Errorf("%s must be \"<jobs URL> <endpoint> <batch rows>\"", exportRunEnv)
	}
	jobsURL, endpoint := f[0], f[1]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	db, err := pg.Open(ctx, pg.Config{URL: jobsURL, MaxConns: 4})
	if err != nil {
		return err
	}
	defer db.Close()
	bq, err := bigquery.NewClient(ctx, "bench", option.WithEndpoint(endpoint), option.WithoutAuthentication())
	if err != nil {
		return err
	}
	defer bq.Close()
	sum, err := export.Run(ctx, db, bq, export.Options{BatchRows: batchRows, MaxBatches: 1000, JobPrefix: "bench"})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(sum)
}
