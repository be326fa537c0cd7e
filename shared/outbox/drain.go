package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// Defaults of DrainOptions.
const (
	DefaultBatchSize = 100
	// Send publishes within DefaultPublishTimeout of the commit and deletes
	// right after; a relay that waits well beyond that rarely publishes an
	// event Send is still sending.
	DefaultMinAge = 15 * time.Second
	// Generous next to Send's bound: the relay is the last resort and runs
	// outside any request.
	DefaultDrainPublishTimeout = 15 * time.Second
	// With a last batch's publish (DefaultDrainPublishTimeout) still ahead,
	// a run ends within the function's 60 s timeout (and Cloud Scheduler's
	// attempt deadline), so a run is never cut off mid-batch by its caller.
	DefaultMaxDuration = 40 * time.Second
	DefaultRetryBase   = 10 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultErrorAfter  = 5
)

// DrainOptions tunes Drain. The zero value is the production setting.
type DrainOptions struct {
	BatchSize int
	// MinAge leaves younger rows to the Send that is probably publishing
	// them. Negative: no minimum (a manual drain, tests).
	MinAge time.Duration
	// PublishTimeout bounds the publish of one batch.
	PublishTimeout time.Duration
	// MaxDuration: no batch starts after this much time.
	MaxDuration time.Duration
	// A failed row waits RetryBase·2^(attempts-1), at most RetryMax.
	RetryBase, RetryMax time.Duration
	// ErrorAfter is the attempt from which a publish failure logs at ERROR
	// rather than WARN.
	ErrorAfter int
	// Log; nil means the logger in ctx.
	Log *slog.Logger
}

func (o DrainOptions) withDefaults() DrainOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	switch {
	case o.MinAge == 0:
		o.MinAge = DefaultMinAge
	case o.MinAge < 0:
		o.MinAge = 0
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultDrainPublishTimeout
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = DefaultMaxDuration
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.ErrorAfter <= 0 {
		o.ErrorAfter = DefaultErrorAfter
	}
	return o
}

// DrainStats counts what one Drain did.
type DrainStats struct {
	Batches   int `json:"batches"`
	Published int `json:"published"`
	// Failed: valid events Pub/Sub did not accept; they back off and stay.
	Failed int `json:"failed"`
	// Poison: rows whose envelope does not validate; they back off and stay.
	Poison int `json:"poison"`
}

// ErrNothingPublished is returned (wrapped) by Drain when Pub/Sub accepted
// none of the events it tried: the bus is unreachable or refusing.
var ErrNothingPublished = errors.New("no event was accepted by Pub/Sub")

// jobsRole is schema.JobsRole, repeated so the relay does not link the
// migrations.
const jobsRole = "bff_jobs"

// The row locks taken here are held until the batch's transaction ends,
// after the publish: that is what keeps two overlapping runs from publishing
// the same row at the same time. SKIP LOCKED (rather than a watermark)
// also never skips a row whose transaction committed late: it simply was
// not visible yet and is taken by a later batch.
const takeSQL = `SELECT id, tenant_id, subject, envelope, attempts
  FROM bff.outbox
 WHERE next_attempt_at <= pg_catalog.now()
   AND created_at <= pg_catalog.now() - pg_catalog.make_interval(secs => $1)
 ORDER BY created_at, id
 LIMIT $2
 FOR UPDATE SKIP LOCKED`

const deleteSQL = `DELETE FROM bff.outbox WHERE id = ANY($1)`

// least(attempts, 20): 2^20 · RetryBase already exceeds any sane RetryMax,
// and the cap keeps power() from overflowing an interval.
const failSQL = `UPDATE bff.outbox o
   SET attempts = o.attempts + 1,
       last_error = f.err,
       next_attempt_at = pg_catalog.now() + LEAST(
           pg_catalog.make_interval(secs => $3 * pg_catalog.power(2, LEAST(o.attempts, 20))),
           pg_catalog.make_interval(secs => $4))
  FROM unnest($1::text[], $2::text[]) AS f(id, err)
 WHERE o.id = f.id`

// Drain is the outbox-relay job: across tenants, with the jobs role (a
// pg.DB opened on JOBS_DATABASE_URL), it takes batches of due rows with FOR
// UPDATE SKIP LOCKED, publishes them, deletes what was published and backs
// off what was not. Concurrent Drains never publish the same row at the
// same time; a crash between publish and commit publishes it again later.
//
// It stops when no due row is left, after DrainOptions.MaxDuration, when a
// batch published nothing while Pub/Sub failed (retrying at once would fail
// alike), or when ctx ends. The error is nil unless the database failed or
// Pub/Sub accepted none of the events tried (ErrNothingPublished); the
// stats count what was done either way.
func Drain(ctx context.Context, jobs *pg.DB, pub events.Publisher, o DrainOptions) (_ DrainStats, err error) {
	defer derrors.Wrap(&err, "outbox.Drain")
	o = o.withDefaults()
	log := o.Log
	if log == nil {
		log = logging.From(ctx)
	}
	var st DrainStats
	if r := jobs.Role(); r != jobsRole {
		// bff_app would see no row at all (no tenant set) and report an
		// empty outbox forever.
		return st, fmt.Errorf("connected as %q, want %s (JOBS_DATABASE_URL)", r, jobsRole)
	}
	deadline := time.Now().Add(o.MaxDuration)
	for time.Now().Before(deadline) {
		var b batch
		err := jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			b = batch{} // InJobsTx may run this again
			return drainBatch(ctx, tx, pub, o, log, &b)
		})
		if err != nil {
			return st, err
		}
		if b.taken == 0 {
			break
		}
		st.Batches++
		st.Published += b.published
		st.Failed += b.failed
		st.Poison += b.poison
		if b.taken < o.BatchSize || (b.failed > 0 && b.published == 0) {
			break
		}
	}
	log.InfoContext(ctx, "outbox: drained",
		slog.Int("batches", st.Batches), slog.Int("published", st.Published),
		slog.Int("failed", st.Failed), slog.Int("poison", st.Poison))
	if st.Failed > 0 && st.Published == 0 {
		return st, fmt.Errorf("%w (%d failed)", ErrNothingPublished, st.Failed)
	}
	return st, nil
}

type batch struct {
	taken, published, failed, poison int
}

type row struct {
	id, tenant, subject string
	envelope            []byte
	attempts            int
}

func drainBatch(ctx context.Context, tx pgx.Tx, pub events.Publisher, o DrainOptions, log *slog.Logger, b *batch) error {
	rs, err := tx.Query(ctx, takeSQL, o.MinAge.Seconds(), o.BatchSize)
	if err != nil {
		return fmt.Errorf("take batch: %w", err)
	}
	rows, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.tenant, &x.subject, &x.envelope, &x.attempts)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("take batch: %w", err)
	}
	b.taken = len(rows)
	if len(rows) == 0 {
		return nil
	}

	var (
		evs          []events.Envelope
		byID         = make(map[string]row, len(rows))
		failIDs      []string
		failMessages []string
	)
	for _, r := range rows {
		ev, err := decode(r)
		if err != nil {
			b.poison++
			failIDs = append(failIDs, r.id)
			failMessages = append(failMessages, truncate("poison: "+err.Error()))
			log.ErrorContext(ctx, "outbox: poison event",
				slog.String("eventId", r.id), slog.String("tenantId", r.tenant),
				slog.String("subject", r.subject), slog.Int("attempts", r.attempts+1),
				slog.String("err", err.Error()))
			continue
		}
		evs = append(evs, ev)
		byID[r.id] = r
	}

	var published []string
	if len(evs) > 0 {
		pctx, cancel := context.WithTimeout(ctx, o.PublishTimeout)
		perr := pub.Publish(pctx, evs...)
		cancel()
		var failed []string
		published, failed = split(evs, perr)
		b.published, b.failed = len(published), len(failed)
		if len(failed) > 0 {
			msg := truncate("publish: " + perr.Error())
			maxAttempts := 0
			for _, id := range failed {
				failIDs = append(failIDs, id)
				failMessages = append(failMessages, msg)
				r := byID[id]
				maxAttempts = max(maxAttempts, r.attempts+1)
				if r.attempts+1 >= o.ErrorAfter {
					log.ErrorContext(ctx, "outbox: event keeps failing",
						slog.String("eventId", r.id), slog.String("tenantId", r.tenant),
						slog.String("subject", r.subject), slog.Int("attempts", r.attempts+1),
						slog.String("err", perr.Error()))
				}
			}
			log.WarnContext(ctx, "outbox: batch not published",
				slog.Int("failed", len(failed)), slog.Int("published", len(published)),
				slog.Int("maxAttempts", maxAttempts), slog.String("err", perr.Error()))
		}
	}

	if len(published) > 0 {
		if _, err := tx.Exec(ctx, deleteSQL, published); err != nil {
			return fmt.Errorf("delete published: %w", err)
		}
	}
	if len(failIDs) > 0 {
		if _, err := tx.Exec(ctx, failSQL, failIDs, failMessages, o.RetryBase.Seconds(), o.RetryMax.Seconds()); err != nil {
			return fmt.Errorf("record failures: %w", err)
		}
	}
	return nil
}

// decode parses a row's envelope strictly and checks it against the row: a
// row whose columns and envelope disagree (a hand edit, a bug) would be
// published under one tenant and deleted under another.
func decode(r row) (events.Envelope, error) {
	ev, err := events.Decode(r.envelope)
	if err != nil {
		return events.Envelope{}, err
	}
	if ev.ID != r.id || ev.TenantID != r.tenant || ev.Subject != r.subject {
		return events.Envelope{}, fmt.Errorf("envelope (%s, %s, %s) does not match its row (%s, %s, %s)",
			ev.ID, ev.TenantID, ev.Subject, r.id, r.tenant, r.subject)
	}
	return ev, nil
}
