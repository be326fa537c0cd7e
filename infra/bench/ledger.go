package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

const (
	ledgerCallers = 64 // concurrent Record callers, as many requests of one instance
	ledgerTenants = 3
	// copyChunk is the rows per COPY of the baseline: the ledger's largest
	// batch (Options.MaxBatchRows' default), one commit each.
	copyChunk = 1000
	// ledgerMaxConns is the functions' DATABASE_MAX_CONNS default.
	ledgerMaxConns = 8
)

// activityColumns are the columns the ledger writes; recorded_xid takes its
// default in both variants.
var activityColumns = []string{
	"id", "tenant_id", "property_id", "operator_id", "device_id", "session_id", "occurred_at",
	"category", "action", "resource_kind", "resource_id", "outcome", "latency_ms",
	"error_code", "error_message", "context_hash", "request_id",
}

// LedgerThroughput measures activity.Ledger.Record as the functions use it
// (bff_app, RLS forced, default options) from 64 concurrent callers over 3
// tenants, one row per call, then writes the same number of the same rows
// with a superuser COPY into the same table: the most the table can take
// on this machine, to set the ledger's rate against.
func LedgerThroughput(ctx context.Context, env Env, o Options) (*Report, error) {
	o = o.withDefaults(10 * time.Second)
	rep := newReport("ledger-throughput", "activity.Ledger.Record with RLS on (64 callers, 3 tenants) vs raw COPY of the same rows")

	db, err := pg.Open(ctx, pg.Config{URL: env.AppURL, MaxConns: ledgerMaxConns})
	if err != nil {
		return nil, fmt.Errorf("ledger-throughput: %w", err)
	}
	defer db.Close()
	admin, err := pgx.Connect(ctx, env.AdminURL)
	if err != nil {
		return nil, fmt.Errorf("ledger-throughput: connect admin: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var super bool
	if err := admin.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		return nil, fmt.Errorf("ledger-throughput: admin role: %w", err)
	}
	if !super {
		// Any other role is subject to the forced RLS, and Postgres refuses
		// COPY FROM into a table with RLS for such a role.
		return nil, errors.New("ledger-throughput: the admin URL's role is not a superuser; the COPY baseline needs one")
	}
	server, err := readPGServer(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("ledger-throughput: %w", err)
	}
	if wn := server.warning(); wn != "" {
		rep.Warnings = append(rep.Warnings, wn)
	}

	// Views commit without waiting for their flush (activity.Ledger's
	// durability by category); every other row waits for it. Both are
	// measured, views first, each against the same COPY baseline.
	rows := entries(ledgerCallers, ledgerTenants)
	mutations := make([]activity.Entry, len(rows))
	for i, e := range rows {
		e.Category, e.Action = activity.CategoryAIDecision, activity.ActionAISuggestionDecide
		mutations[i] = e
	}
	var runs [2]Run
	for i, v := range []struct {
		name string
		rows []activity.Entry
	}{
		{"Ledger.Record, view rows (bff_app, RLS)", rows},
		{"Ledger.Record, decision rows, flushed (bff_app, RLS)", mutations},
	} {
		run, err := ledgerRun(ctx, db, v.name, v.rows, o)
		if err != nil {
			return nil, fmt.Errorf("ledger-throughput: %w", err)
		}
		runs[i] = run
		rep.Runs = append(rep.Runs, run)
	}
	run := runs[0]

	cp, err := rawCopy(ctx, admin, rows, int(run.OK))
	if err != nil {
		return nil, fmt.Errorf("ledger-throughput: %w", err)
	}
	rep.Runs = append(rep.Runs, cp)

	rep.Settings = map[string]any{
		"callers": ledgerCallers, "tenants": ledgerTenants, "rowsPerRecord": 1,
		"warmupSeconds": o.Warmup.Seconds(), "durationSeconds": o.Duration.Seconds(),
		"ledgerOptions":   "activity.Options{}: the defaults every function runs with",
		"appPoolMaxConns": ledgerMaxConns, "copyRowsPerStatement": copyChunk, "postgres": server,
	}
	rate, flushed := run.PerSecond, runs[1].PerSecond
	rep.Figures = []Figure{
		{Name: "ledger rows/s, view rows, RLS on, 64 callers", Value: rate, Unit: "rows/s", Target: "≥ 20,000 rows/s", Met: met(rate >= 20000),
			How: "rows committed by Ledger.Record in the measured window / its wall time"},
		{Name: "raw COPY rows/s (superuser)", Value: cp.PerSecond, Unit: "rows/s",
			How: "the same number of rows, " + strconv.Itoa(copyChunk) + " per COPY statement, one connection"},
		{Name: "ledger / raw COPY, view rows", Value: round3(ratio(rate, cp.PerSecond)), Unit: "×", Target: "≥ 0.5×", Met: met(ratio(rate, cp.PerSecond) >= 0.5),
			How: "ledger rows/s (views: committed without waiting for the flush) divided by COPY rows/s"},
		{Name: "ledger / raw COPY, flushed rows", Value: round3(ratio(flushed, cp.PerSecond)), Unit: "×",
			How: "ledger rows/s of decision rows (each batch waits for its WAL flush) divided by COPY rows/s"},
		{Name: "ledger rows per transaction, views; flushed rows", Value: run.Extra["rowsPerBatch"], Unit: "rows",
			How: "Ledger.Stats() rows / batches over the measured window; flushed rows: " + strconv.FormatFloat(runs[1].Extra["rowsPerBatch"], 'f', 1, 64)},
	}
	rep.Notes = []string{
		"The COPY runs as the superuser because Postgres refuses COPY FROM into a table with row-level security for any role subject to it, and the table forces RLS even on its owner. " +
			"What that bypasses is irrelevant to the cost: for an INSERT, RLS only evaluates the policy's WITH CHECK (tenant_id = the transaction's app.tenant_id) per row. " +
			"Both variants write the same 17 columns into the same table with the same primary key, two secondary indexes, CHECK constraints, recorded_xid default and WAL, and commit (one WAL flush) per batch or per COPY.",
		"So the gap is the ledger's own price: a transaction per batch whose size is bounded by how many callers are waiting (≤ 64 here, vs 1,000 per COPY), setting app.tenant_id for each tenant in it, unnest() arrays instead of the COPY stream, ON CONFLICT DO NOTHING (for exactly-once retries), and callers waiting on the commit.",
		"The COPY runs after the ledger run, into the table that already holds the ledger's rows (the append-only trigger forbids TRUNCATE); the extra index depth is slightly against COPY.",
	}
	return rep, nil
}

// ledgerRun measures Record from ledgerCallers callers, each writing its
// own row of rows over and over, with a ledger of the default options.
func ledgerRun(ctx context.Context, db *pg.DB, name string, rows []activity.Entry, o Options) (Run, error) {
	l := activity.NewLedger(db, activity.Options{})
	defer l.Close()
	record := func(ctx context.Context, worker, _ int) error { return l.Record(ctx, rows[worker]) }
	if err := warmup(ctx, ledgerCallers, o.Warmup, record); err != nil {
		return Run{}, err
	}
	before := l.Stats()
	res, err := closedLoop(ctx, ledgerCallers, o.Duration, record)
	if err != nil {
		return Run{}, err
	}
	after := l.Stats()
	run := runOf(name, "row", res)
	written, batches := after.Rows-before.Rows, after.Batches-before.Batches
	run.Extra = map[string]float64{
		"batches": float64(batches), "committedRows": float64(written),
		"failedBatches":  float64(after.FailedBatches - before.FailedBatches),
		"relaxedBatches": float64(after.RelaxedBatches - before.RelaxedBatches),
	}
	if batches > 0 {
		run.Extra["rowsPerBatch"] = round3(float64(written) / float64(batches))
	}
	return run, nil
}

// entries are the callers' rows: each caller is one operator on one device
// of one of the tenants. ID and OccurredAt are left empty so Record gives
// every row its own, as the gate's rows get.
func entries(callers, tenants int) []activity.Entry {
	ts := make([]string, tenants)
	props := make([]string, tenants)
	for i := range ts {
		ts[i], props[i] = ids.New(ids.Tenant), ids.New(ids.Property)
	}
	out := make([]activity.Entry, callers)
	for i := range out {
		out[i] = activity.Entry{
			TenantID: ts[i%tenants], PropertyID: props[i%tenants],
			OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session),
			Category: activity.CategoryView, Action: activity.ActionDashboardViewed,
			Resource: &activity.Ref{Kind: "dashboard", ID: ids.New(ids.Dashboard)},
			Outcome:  activity.OutcomeSuccess, LatencyMs: 12, RequestID: "bench-" + strconv.Itoa(i),
		}
	}
	return out
}

// rawCopy writes n rows shaped like rows (cycled) with COPY, copyChunk at a
// time, each COPY its own transaction. Making the ids and timestamps is
// inside the timing, as it is inside Record's.
func rawCopy(ctx context.Context, conn *pgx.Conn, rows []activity.Entry, n int) (Run, error) {
	run := Run{Name: "raw COPY (superuser)", Concurrency: 1, Unit: "row"}
	if n == 0 {
		return run, nil
	}
	chunk := make([][]any, 0, copyChunk)
	copies := 0
	start := time.Now()
	for done := 0; done < n; {
		chunk = chunk[:0]
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i := 0; i < copyChunk && done+i < n; i++ {
			chunk = append(chunk, copyRow(&rows[(done+i)%len(rows)], now))
		}
		got, err := conn.CopyFrom(ctx, pgx.Identifier{"bff", "operator_activity"}, activityColumns, pgx.CopyFromRows(chunk))
		if err != nil {
			return run, fmt.Errorf("raw COPY after %d rows: %w", done, err)
		}
		done += int(got)
		copies++
	}
	elapsed := time.Since(start)
	run.Seconds = round3(elapsed.Seconds())
	run.OK = uint64(n)
	run.PerSecond = round1(float64(n) / elapsed.Seconds())
	run.Extra = map[string]float64{"copies": float64(copies), "rowsPerCopy": copyChunk}
	return run, nil
}

// copyRow is e as the ledger stores it: empty optional fields as NULL.
func copyRow(e *activity.Entry, now time.Time) []any {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var kind, rid any
	if e.Resource != nil {
		kind, rid = e.Resource.Kind, e.Resource.ID
	}
	var code, msg any
	if e.Error != nil {
		code, msg = e.Error.Code, null(e.Error.Message)
	}
	return []any{
		ids.New(ids.Activity), e.TenantID, null(e.PropertyID), e.OperatorID, e.DeviceID, null(e.SessionID), now,
		string(e.Category), e.Action, kind, rid, string(e.Outcome), int32(e.LatencyMs),
		code, msg, null(e.ContextHash), e.RequestID,
	}
}
