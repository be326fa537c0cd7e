// Package export copies the operator activity ledger from Postgres to
// BigQuery (melmastoon_audit.operator_activity) exactly once: the
// export-activity job.
//
// How every row lands once, whatever crashes, retries or overlapping runs
// do (migration 0006 has the table):
//
//  1. Plan. The ledger is walked in (recorded_xid, id) order. The next
//     batch starts after the last one and takes up to BatchRows rows whose
//     recorded_xid is below pg_snapshot_xmin(pg_current_snapshot()): every
//     transaction below that horizon has ended, so nothing can still
//     appear inside the range (a late commit has a higher xid and lands in
//     a later batch). The batch — its range, row count and attempt — is
//     stored before anything is sent; at most one is open at a time (a
//     unique index), so overlapping runs cannot plan two.
//  2. Load. The range's rows are streamed as newline-delimited JSON into a
//     load job whose id is derived from the batch (JobID). A rerun of the
//     same batch uses the same id, which BigQuery refuses as a duplicate:
//     rows never land twice.
//  3. Settle. Whatever the load call answered (success, 409 duplicate, a
//     connection dropped after BigQuery accepted the job), the job is read
//     back: DONE without error marks the batch exported (the watermark
//     moves only now); DONE with an error loaded nothing (load jobs are
//     atomic), so the batch's attempt is raised and the next try uses a
//     new id; an unknown job was never accepted and is loaded again.
//
// Before planning, the run seals what has committed (ledgerchain.Seal): a
// batch never reaches past the seal, so every exported row carries its
// link of the tenant's hash chain (chainSeq, prevHash, chainHash), and
// BigQuery holds a copy of the chain the verify-ledger job can check
// Postgres against.
//
// Memory is bounded by the stream, not the batch: rows go from the
// Postgres cursor through a pipe into the upload (googleapi.ChunkSize(0):
// one streamed request, no chunk buffer).
package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/api/googleapi"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// Options tune an export run; zero values take the defaults.
type Options struct {
	Dataset   string // default "melmastoon_audit"
	Table     string // default "operator_activity"
	Location  string // BigQuery location of the dataset; default "US"
	BatchRows int    // rows per load job; default 50,000
	// MaxBatches bounds one run; the next run goes on. Default 200.
	MaxBatches int
	// JobPrefix starts every load job id; it names the deployment, so two
	// deployments exporting into one project never collide. Default
	// "bff_activity".
	JobPrefix string
	// JobTimeout bounds the wait for one load job. Default 5 minutes.
	JobTimeout time.Duration
	Log        *slog.Logger
	// BeforeMark, when set, runs after BigQuery has a batch's rows and
	// before the batch is marked exported; an error ends the run there.
	// Tests use it to die at the worst moment.
	BeforeMark func(seq int64) error
	// EventSample is the share of rows, 0..1, published as
	// operator.activity.v1 telemetry (through the outbox, with the batch's
	// mark). Default 0.01; negative: none.
	EventSample float64
}

func (o Options) withDefaults() Options {
	if o.Dataset == "" {
		o.Dataset = "melmastoon_audit"
	}
	if o.Table == "" {
		o.Table = "operator_activity"
	}
	if o.Location == "" {
		o.Location = "US"
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 50_000
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = 200
	}
	if o.JobPrefix == "" {
		o.JobPrefix = "bff_activity"
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.EventSample == 0 {
		o.EventSample = 0.01
	}
	return o
}

// Summary is what a run did.
type Summary struct {
	// Skipped is true when another run held the export: this one did
	// nothing (its rows are the other run's).
	Skipped bool `json:"skipped"`
	// Sealed counts the rows this run chained before exporting.
	Sealed int64 `json:"sealed"`
	// Batches and Rows count what this run marked exported; Resumed the
	// batches among them an earlier run had planned (and maybe loaded).
	Batches int   `json:"batches"`
	Rows    int64 `json:"rows"`
	Resumed int   `json:"resumed"`
	// Watermark is the end of the last exported batch ("xid/id").
	Watermark string `json:"watermark"`
	// More is true when the run stopped at MaxBatches with rows left.
	More bool `json:"more"`
}

// lockKey is the advisory lock of the export (any constant unique among
// the BFF's advisory locks).
const lockKey = int64(0x6163745f657870) // "act_exp"

// Run exports what the ledger holds beyond the watermark, batch by batch.
// db must be the jobs role's (it reads every tenant); bq the BigQuery
// client of the audit project.
func Run(ctx context.Context, db *pg.DB, bq *bigquery.Client, o Options) (_ Summary, err error) {
	defer derrors.Wrap(&err, "export.Run")
	o = o.withDefaults()
	var sum Summary
	// One run at a time: the lock lives on a connection held for the run,
	// so a run that dies releases it with its connection. Without it runs
	// would still be correct (the open-batch index), only wasteful.
	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		return sum, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey).Scan(&got); err != nil {
		return sum, err
	}
	if !got {
		sum.Skipped = true
		return sum, nil
	}
	defer func() {
		// A fresh context: the run's may be what ended it.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", lockKey); uerr != nil {
			// The lock would outlive the run on a pooled connection.
			conn.Conn().Close(uctx) //nolint:errcheck // closing is the fallback
		}
	}()

	// Seal at most what this run may export; the rest waits for the next.
	sealed, err := ledgerchain.Seal(ctx, db, ledgerchain.SealOptions{MaxRows: int64(o.BatchRows) * int64(o.MaxBatches)})
	sum.Sealed = sealed.Rows
	if err != nil {
		return sum, err
	}

	e := &exporter{db: db, bq: bq, o: o}
	for range o.MaxBatches {
		b, resumed, err := e.next(ctx)
		if err != nil {
			return sum, err
		}
		if b == nil {
			sum.Watermark, err = e.watermark(ctx)
			return sum, err
		}
		if err := e.export(ctx, b); err != nil {
			return sum, fmt.Errorf("batch %d: %w", b.seq, err)
		}
		sum.Batches++
		sum.Rows += int64(b.rows)
		if resumed {
			sum.Resumed++
		}
		sum.Watermark = b.toXID + "/" + b.toID
	}
	sum.More = true
	return sum, nil
}

type exporter struct {
	db *pg.DB
	bq *bigquery.Client
	o  Options
}

// batch is a planned range of the ledger: (from, to] in (recorded_xid, id)
// order.
type batch struct {
	seq             int64
	fromXID, fromID string
	toXID, toID     string
	rows, attempt   int
}

// JobID is the load job id of a batch's attempt: deterministic, so a rerun
// collides with what an earlier run may have loaded.
func JobID(prefix string, seq int64, fromXID, toXID string, attempt int) string {
	return fmt.Sprintf("%s_%d_%s_%s_a%d", prefix, seq, fromXID, toXID, attempt)
}

func (e *exporter) jobID(b *batch) string {
	return JobID(e.o.JobPrefix, b.seq, b.fromXID, b.toXID, b.attempt)
}

const openBatchSQL = `SELECT seq, from_xid::text, from_id, to_xid::text, to_id, row_count, attempt
  FROM bff.activity_export_batch WHERE exported_at IS NULL`

// next returns the open batch (resumed: planned by an earlier run) or
// plans one; nil when there is nothing to export.
func (e *exporter) next(ctx context.Context) (*batch, bool, error) {
	for try := 0; ; try++ {
		b, err := e.open(ctx)
		if err != nil || b != nil {
			return b, b != nil, err
		}
		b, err = e.plan(ctx)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && try == 0 {
			// Another run planned first (only possible without the
			// lock, e.g. a run from an older deployment): resume its.
			continue
		}
		return b, false, err
	}
}

func (e *exporter) open(ctx context.Context) (*batch, error) {
	var b batch
	err := e.db.Pool().QueryRow(ctx, openBatchSQL).Scan(&b.seq, &b.fromXID, &b.fromID, &b.toXID, &b.toID, &b.rows, &b.attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// plan stores the next batch: up to BatchRows rows after the last batch,
// below the horizon no in-flight transaction can reach behind, and sealed
// (the seal is below an earlier horizon, so it is the tighter bound).
func (e *exporter) plan(ctx context.Context) (*batch, error) {
	var out *batch
	err := e.db.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		b := batch{fromXID: "0", fromID: ""}
		err := tx.QueryRow(ctx, `SELECT seq + 1, to_xid::text, to_id FROM bff.activity_export_batch ORDER BY seq DESC LIMIT 1`).
			Scan(&b.seq, &b.fromXID, &b.fromID)
		if errors.Is(err, pgx.ErrNoRows) {
			b.seq, err = 1, nil
		}
		if err != nil {
			return err
		}
		var horizon string
		if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&horizon); err != nil {
			return err
		}
		// Only the keys, streamed: the last one read is the batch's end.
		// The ORDER BY names the table's columns (a.): a bare recorded_xid
		// would be the output column, the xid as text, and "1000" sorts
		// before "999" — a batch whose end skips rows its range holds.
		rows, err := tx.Query(ctx, `SELECT a.recorded_xid::text, a.id FROM bff.operator_activity a
 WHERE (a.recorded_xid, a.id) > ($1::xid8, $2) AND a.recorded_xid < $3::xid8
   AND (a.recorded_xid, a.id) <= (SELECT sealed_xid, sealed_id FROM bff.activity_chain_seal)
 ORDER BY a.recorded_xid, a.id LIMIT $4`, b.fromXID, b.fromID, horizon, e.o.BatchRows)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := rows.Scan(&b.toXID, &b.toID); err != nil {
				rows.Close()
				return err
			}
			b.rows++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if b.rows == 0 {
			return nil
		}
		b.attempt = 1
		if _, err := tx.Exec(ctx, `INSERT INTO bff.activity_export_batch (seq, from_xid, from_id, to_xid, to_id, row_count)
VALUES ($1, $2::xid8, $3, $4::xid8, $5, $6)`, b.seq, b.fromXID, b.fromID, b.toXID, b.toID, b.rows); err != nil {
			return err
		}
		out = &b
		return nil
	})
	return out, err
}

func (e *exporter) watermark(ctx context.Context) (string, error) {
	var w string
	err := e.db.Pool().QueryRow(ctx, `SELECT coalesce((SELECT to_xid::text || '/' || to_id FROM bff.activity_export_batch
 WHERE exported_at IS NOT NULL ORDER BY seq DESC LIMIT 1), '')`).Scan(&w)
	return w, err
}

// errJobFailed is a load job that ended in error (and so loaded nothing).
var errJobFailed = errors.New("the load job failed")

// export loads b (or finds it loaded) and marks it exported.
func (e *exporter) export(ctx context.Context, b *batch) error {
	const tries = 3
	var last error
	for try := range tries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(try) * 500 * time.Millisecond):
			}
		}
		id := e.jobID(b)
		loadErr := e.load(ctx, b, id)
		// Whatever the call said, the job is what counts: it may have
		// been accepted before an error (a dropped connection), or be
		// an earlier run's (409 duplicate).
		st, err := e.settle(ctx, id, b.rows)
		switch {
		case err == nil:
			return e.mark(ctx, b)
		case errors.Is(err, errJobFailed):
			// Nothing loaded; the id is spent. Next attempt, new id.
			if _, uerr := e.db.Pool().Exec(ctx, `UPDATE bff.activity_export_batch SET attempt = attempt + 1 WHERE seq = $1 AND exported_at IS NULL`, b.seq); uerr != nil {
				return uerr
			}
			b.attempt++
			return fmt.Errorf("job %s: %w (next run retries as attempt %d)", id, err, b.attempt)
		case st == jobUnknown:
			last = errors.Join(loadErr, err)
			e.o.Log.WarnContext(ctx, "activity export: load not accepted; retrying", "job", id, "err", last)
			continue
		default:
			return err
		}
	}
	return last
}

// load streams b's rows into a load job called id.
func (e *exporter) load(ctx context.Context, b *batch, id string) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := e.writeRows(ctx, b, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	src := bigquery.NewReaderSource(pr)
	src.SourceFormat = bigquery.JSON
	src.Schema = Schema
	l := e.bq.DatasetInProject(e.bq.Project(), e.o.Dataset).Table(e.o.Table).LoaderFrom(src)
	l.JobID = id
	l.Location = e.o.Location
	l.WriteDisposition = bigquery.WriteAppend
	// The table is terraform's; in dev the first load creates it alike.
	l.CreateDisposition = bigquery.CreateIfNeeded
	l.TimePartitioning = TimePartitioning
	l.Clustering = Clustering
	l.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(0), googleapi.ContentType("application/octet-stream")}
	_, err := l.Run(ctx)
	// The upload may end before the rows do (a 409 answered early):
	// unblock the writer, then wait for it, so no cursor outlives the call.
	pr.CloseWithError(errors.New("the upload ended"))
	werr := <-done
	if err == nil && werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		err = werr
	}
	return err
}

type jobState int

const (
	jobDone jobState = iota
	jobUnknown
	jobOther
)

// errJobRows is a load job that loaded another number of rows than its
// batch planned. Its rows are in BigQuery and the batch is not marked: the
// export stops there, loudly, instead of moving the watermark past rows it
// cannot account for (an operator reconciles the table with the batch).
var errJobRows = errors.New("the load job's row count differs from its batch's")

// settle waits for job id and says how it ended: nil (DONE, no error, and
// want rows loaded), errJobFailed (DONE with an error), or another error;
// jobUnknown when BigQuery has no such job.
func (e *exporter) settle(ctx context.Context, id string, want int) (jobState, error) {
	ctx, cancel := context.WithTimeout(ctx, e.o.JobTimeout)
	defer cancel()
	job, err := e.bq.JobFromIDLocation(ctx, id, e.o.Location)
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusNotFound {
		return jobUnknown, fmt.Errorf("job %s: not found", id)
	}
	if err != nil {
		return jobOther, err
	}
	st, err := job.Wait(ctx)
	if err != nil {
		return jobOther, err
	}
	if st.Err() != nil {
		return jobOther, fmt.Errorf("%w: %v", errJobFailed, st.Err())
	}
	// The load call's own error is not enough: an upload whose stream
	// failed after its last row may still have made a job of what it sent.
	var ls *bigquery.LoadStatistics
	if st.Statistics != nil {
		ls, _ = st.Statistics.Details.(*bigquery.LoadStatistics)
	}
	if ls == nil || ls.OutputRows != int64(want) {
		got := int64(-1)
		if ls != nil {
			got = ls.OutputRows
		}
		return jobOther, fmt.Errorf("job %s: %w: %d loaded, %d planned", id, errJobRows, got, want)
	}
	return jobDone, nil
}

// mark marks b exported and, in the same transaction, puts its sample of
// operator.activity.v1 events in the outbox: the batch's events are added
// exactly when its rows are known to be in BigQuery, once.
func (e *exporter) mark(ctx context.Context, b *batch) error {
	if e.o.BeforeMark != nil {
		if err := e.o.BeforeMark(b.seq); err != nil {
			return err
		}
	}
	var sampled int
	err := e.db.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE bff.activity_export_batch SET exported_at = now() WHERE seq = $1 AND exported_at IS NULL`, b.seq)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("batch %d was marked by another run", b.seq)
		}
		sampled, err = e.sample(ctx, tx, b)
		return err
	})
	if err != nil {
		return err
	}
	e.o.Log.InfoContext(ctx, "activity export: batch exported", "seq", b.seq, "rows", b.rows, "job", e.jobID(b), "sampledEvents", sampled)
	return nil
}

// ActivityEvent is the data of an operator.activity.v1 event: the row's
// facts without its free text (no error message, no request id), as
// telemetry.
type ActivityEvent struct {
	ActivityID string        `json:"activityId"`
	OperatorID string        `json:"operatorId"`
	DeviceID   string        `json:"deviceId"`
	SessionID  string        `json:"sessionId,omitempty"`
	OccurredAt jsontime.Time `json:"occurredAt"`
	Category   string        `json:"category"`
	Action     string        `json:"action"`
	Outcome    string        `json:"outcome"`
	LatencyMs  int           `json:"latencyMs"`
	ErrorCode  string        `json:"errorCode,omitempty"`
}

// sample adds b's sampled rows to the outbox as operator.activity.v1
// events. Which rows is decided by the row id alone (a hash below the
// rate), so the sample is the same whoever computes it, and each event's
// id is its row's ULID (evt_<ULID of act_…>): a consumer deduplicating by
// event id sees a row's event once however it reaches it.
func (e *exporter) sample(ctx context.Context, tx pgx.Tx, b *batch) (int, error) {
	if e.o.EventSample <= 0 {
		return 0, nil
	}
	threshold := int64(e.o.EventSample * 65536)
	rows, err := tx.Query(ctx, `SELECT id, tenant_id, coalesce(property_id, ''), operator_id, device_id, coalesce(session_id, ''),
       occurred_at, category, action, outcome, latency_ms, coalesce(error_code, '')
  FROM bff.operator_activity
 WHERE (recorded_xid, id) > ($1::xid8, $2) AND (recorded_xid, id) <= ($3::xid8, $4)
   AND (hashtextextended(id, 0) & 65535) < $5
 ORDER BY tenant_id, recorded_xid, id`, b.fromXID, b.fromID, b.toXID, b.toID, threshold)
	if err != nil {
		return 0, err
	}
	byTenant := map[string][]events.Envelope{}
	var tenants []string
	for rows.Next() {
		var d ActivityEvent
		var tenant, prop string
		var at time.Time
		if err := rows.Scan(&d.ActivityID, &tenant, &prop, &d.OperatorID, &d.DeviceID, &d.SessionID,
			&at, &d.Category, &d.Action, &d.Outcome, &d.LatencyMs, &d.ErrorCode); err != nil {
			rows.Close()
			return 0, err
		}
		d.OccurredAt = jsontime.Of(at)
		ev, err := events.New(events.OperatorActivity, tenant, prop, d)
		if err != nil {
			rows.Close()
			return 0, err
		}
		ev.ID = string(ids.Event) + "_" + strings.TrimPrefix(d.ActivityID, string(ids.Activity)+"_")
		ev.OccurredAt = jsontime.Of(at)
		if _, ok := byTenant[tenant]; !ok {
			tenants = append(tenants, tenant)
		}
		byTenant[tenant] = append(byTenant[tenant], ev)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tenants {
		// outbox.Add inserts for the transaction's tenant only.
		if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('app.tenant_id', $1, true)`, t); err != nil {
			return 0, err
		}
		if err := outbox.Add(ctx, tx, byTenant[t]...); err != nil {
			return 0, err
		}
		n += len(byTenant[t])
	}
	return n, nil
}

// writeRows streams b's rows to w as newline-delimited JSON in BigQuery's
// column names. A count that differs from the plan fails the stream (and
// so the upload): the range must hold exactly what was planned.
func (e *exporter) writeRows(ctx context.Context, b *batch, w io.Writer) (err error) {
	// The statement lasts as long as the upload it feeds, far past the
	// pool's statement timeout (seconds, sized for queries, not streams):
	// this one transaction gets the job's bound instead.
	tx, err := e.db.Pool().BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", strconv.FormatInt(e.o.JobTimeout.Milliseconds(), 10)); err != nil {
		return err
	}
	// The inner join drops a row without a link, which the count below
	// then refuses: nothing leaves unchained.
	rows, err := tx.Query(ctx, `SELECT a.id, a.tenant_id, a.property_id, a.operator_id, a.device_id, a.session_id, a.occurred_at,
       a.category, a.action, a.resource_kind, a.resource_id, a.outcome, a.latency_ms, a.error_code, a.error_message,
       a.context_hash, a.request_id, c.seq, encode(c.prev_hash, 'hex'), encode(c.chain_hash, 'hex')
  FROM bff.operator_activity a
  JOIN bff.activity_chain c ON c.activity_id = a.id
 WHERE (a.recorded_xid, a.id) > ($1::xid8, $2) AND (a.recorded_xid, a.id) <= ($3::xid8, $4)
 ORDER BY a.recorded_xid, a.id`, b.fromXID, b.fromID, b.toXID, b.toID)
	if err != nil {
		return err
	}
	defer rows.Close()
	enc := json.NewEncoder(w)
	n := 0
	for rows.Next() {
		var r Row
		var at time.Time
		var rk, rid, ec, em *string
		var seq int64
		var prev, chain string
		if err := rows.Scan(&r.ID, &r.TenantID, &r.PropertyID, &r.OperatorID, &r.DeviceID, &r.SessionID, &at,
			&r.Category, &r.Action, &rk, &rid, &r.Outcome, &r.LatencyMs, &ec, &em, &r.ContextHash, &r.RequestID,
			&seq, &prev, &chain); err != nil {
			return err
		}
		r.OccurredAt = at.UTC().Format(time.RFC3339Nano)
		if rk != nil && rid != nil {
			r.ResourceRef = &Ref{Kind: *rk, ID: *rid}
		}
		if ec != nil {
			r.Error = &Error{Code: *ec, Message: em}
		}
		r.ChainSeq, r.PrevHash, r.ChainHash = &seq, &prev, &chain
		if n == b.rows {
			// Before the row goes out: a load of more rows than planned
			// must not be a complete upload.
			return fmt.Errorf("batch %d holds more rows than the %d planned", b.seq, b.rows)
		}
		if err := enc.Encode(&r); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != b.rows {
		return fmt.Errorf("batch %d holds %d rows, %d were planned", b.seq, n, b.rows)
	}
	return nil
}
