package activity

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// Options tune a Ledger. Zero values take the defaults.
type Options struct {
	// MaxBatchRows caps the rows of one transaction (default 1000). A
	// single Record with more entries is written alone.
	MaxBatchRows int
	// WriteTimeout bounds one batch's write, retries of a lost connection
	// included (default 5s). It is not taken from the caller's context:
	// see Record.
	WriteTimeout time.Duration
	// Flushers is how many batches may be in flight at once (default 1).
	// One keeps batches as large as possible and holds one pool connection;
	// more trade batch size for parallelism across connections (2 and 4
	// measured within ±20% of 1 on the dev VM, no consistent winner).
	Flushers int
	// DurableViews makes every batch wait for its disk flush. By default a
	// batch made only of view rows (Entry.Relaxed) does not: see Ledger.
	DurableViews bool
}

func (o Options) withDefaults() Options {
	if o.MaxBatchRows <= 0 {
		o.MaxBatchRows = 1000
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.Flushers <= 0 {
		o.Flushers = 1
	}
	return o
}

// Stats counts what a Ledger wrote; tests use it to prove batching by counts
// rather than timings.
type Stats struct {
	Batches       uint64 // committed transactions
	Rows          uint64 // rows in committed transactions (ids already present included)
	FailedBatches uint64 // transactions that did not commit
	// RelaxedBatches counts the committed transactions that did not wait
	// for their disk flush (view rows only).
	RelaxedBatches uint64
}

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("activity: ledger closed")

// Ledger writes activity rows with group commit: concurrent Record calls
// share transactions.
//
// Durability by category: a batch holding only view rows (Entry.Relaxed)
// commits without waiting for the WAL flush; any other row in the batch
// makes the whole batch wait for it. Record returns only once the server has
// committed the batch either way, so a function killed right after its
// answer loses nothing; what a database server crash can lose is a view
// row committed within the WAL writer's flush interval before it (at most
// 3 × wal_writer_delay, 600 ms by default). A view is the one action whose
// row is evidence of reading, not of a change, and it is most of the
// traffic: its flush is most of its row's cost. There is no background goroutine and no timer: the
// first caller to find no batch in flight writes at once (no linger when
// idle), and callers arriving meanwhile queue up and are written together by
// the next leader, one of themselves. Cloud Run throttles the CPU of an
// instance between requests, so nothing is left to run after a Record has
// returned.
type Ledger struct {
	db   *pg.DB
	opts Options

	mu      sync.Mutex
	idle    *sync.Cond // broadcast when leaders drops to 0
	queue   []*request
	leaders int
	closed  bool

	batches, rows, failed, relaxed atomic.Uint64
}

type request struct {
	entries []Entry
	// wake receives exactly one signal: the batch's result, or leadership.
	wake chan signal
}

type signal struct {
	lead bool
	err  error
}

// NewLedger returns a ledger writing through db (a bff_app pool).
func NewLedger(db *pg.DB, opts Options) *Ledger {
	l := &Ledger{db: db, opts: opts.withDefaults()}
	l.idle = sync.NewCond(&l.mu)
	return l
}

// Stats returns the counters so far.
func (l *Ledger) Stats() Stats {
	return Stats{Batches: l.batches.Load(), Rows: l.rows.Load(), FailedBatches: l.failed.Load(), RelaxedBatches: l.relaxed.Load()}
}

// Record writes entries and returns once they are committed, possibly in a
// transaction shared with other callers' rows. Entries are checked first: an
// invalid one fails this call only (its error wraps ErrInvalidEntry) and
// none of its entries is written. A failed write fails every caller of that
// batch, as apperr UPSTREAM_UNAVAILABLE when the database cannot be reached.
//
// ctx's cancellation is ignored on purpose: by the time an action is
// recorded it has happened, and a client that hung up must not erase it from
// the ledger. The wait is bounded by Options.WriteTimeout per batch instead.
func (l *Ledger) Record(ctx context.Context, entries ...Entry) (err error) {
	defer derrors.Wrap(&err, "activity.Ledger.Record")
	if len(entries) == 0 {
		return nil
	}
	norm, err := normalizeAll(entries, time.Now())
	if err != nil {
		return err
	}
	r := &request{entries: norm, wake: make(chan signal, 1)}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.leaders < l.opts.Flushers {
		l.leaders++
		l.mu.Unlock()
		return l.lead(ctx, r)
	}
	l.queue = append(l.queue, r)
	l.mu.Unlock()

	s := <-r.wake
	if s.lead {
		return l.lead(ctx, r)
	}
	return s.err
}

// lead writes one batch, own request first, then as many queued requests as
// fit, and passes leadership to the oldest request still queued. Handing
// over after one batch bounds a leader's own latency to one write, however
// busy the ledger is.
func (l *Ledger) lead(ctx context.Context, me *request) error {
	batch := []*request{me}
	rows := len(me.entries)
	l.mu.Lock()
	n := 0
	for n < len(l.queue) && rows+len(l.queue[n].entries) <= l.opts.MaxBatchRows {
		rows += len(l.queue[n].entries)
		batch = append(batch, l.queue[n])
		n++
	}
	l.queue = dropFront(l.queue, n)
	l.mu.Unlock()

	err := l.write(ctx, batch, rows)
	for _, r := range batch[1:] {
		r.wake <- signal{err: err}
	}

	l.mu.Lock()
	if len(l.queue) > 0 {
		next := l.queue[0]
		l.queue = dropFront(l.queue, 1)
		next.wake <- signal{lead: true}
	} else {
		l.leaders--
		if l.leaders == 0 {
			l.idle.Broadcast()
		}
	}
	l.mu.Unlock()
	return err
}

// dropFront removes q's first n elements, clearing them so the queue's
// backing array does not keep finished requests alive.
func dropFront(q []*request, n int) []*request {
	if n == 0 {
		return q
	}
	clear(q[:n])
	q = q[n:]
	if len(q) == 0 {
		return q[:0:0]
	}
	return q
}

// write commits the batch in one transaction, all tenants together, sent in
// one round trip (pg.SendTenantBatch): one commit, one WAL flush, whatever
// the tenant mix. BenchmarkWriteStrategies on the dev VM (batches of
// 10/100/1000 rows over 3 tenants, rows/s): one round trip 17k/55k/69k; one
// transaction with a round trip per statement 10k/35k/62k; a transaction per
// tenant 7k/38k/61k.
//
// A connection lost mid-write is retried until WriteTimeout; the ids are
// fixed and the insert ignores ids already present, so a retry after a
// commit whose acknowledgement was lost writes nothing twice.
func (l *Ledger) write(ctx context.Context, batch []*request, rows int) error {
	// WithoutCancel: the leader's client hanging up must not abort the
	// other callers' rows (nor its own).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.WriteTimeout)
	defer cancel()

	var tb pg.TenantBatch
	tenants, byTenant := groupByTenant(batch)
	for _, t := range tenants {
		queueInsert(&tb, t, byTenant[t])
	}
	relaxed := !l.opts.DurableViews && allRelaxed(batch)
	if relaxed {
		tb.Relax()
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = l.db.SendTenantBatch(wctx, &tb)
		if err == nil {
			l.batches.Add(1)
			l.rows.Add(uint64(rows))
			if relaxed {
				l.relaxed.Add(1)
			}
			return nil
		}
		if !apperr.Is(err, apperr.UpstreamUnavailable) || wctx.Err() != nil {
			break
		}
		d := time.Duration(25<<min(attempt, 5))*time.Millisecond + rand.N(10*time.Millisecond)
		t := time.NewTimer(d)
		select {
		case <-wctx.Done():
		case <-t.C:
		}
		t.Stop()
		if wctx.Err() != nil {
			break
		}
	}
	l.failed.Add(1)
	return fmt.Errorf("write %d rows: %w", rows, err)
}

func allRelaxed(batch []*request) bool {
	for _, r := range batch {
		for i := range r.entries {
			if !r.entries[i].Relaxed() {
				return false
			}
		}
	}
	return true
}

// groupByTenant keeps the tenants in first-seen order so a batch's
// statements are deterministic for a given arrival order.
func groupByTenant(batch []*request) ([]string, map[string][]Entry) {
	byTenant := make(map[string][]Entry, 4)
	var tenants []string
	for _, r := range batch {
		for _, e := range r.entries {
			if _, ok := byTenant[e.TenantID]; !ok {
				tenants = append(tenants, e.TenantID)
			}
			byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
		}
	}
	return tenants, byTenant
}

// Close waits for the batches in flight and makes later Records fail with
// ErrClosed. Nothing is ever queued without a leader writing it, so waiting
// for the leaders is the flush.
func (l *Ledger) Close() {
	l.mu.Lock()
	l.closed = true
	for l.leaders > 0 {
		l.idle.Wait()
	}
	l.mu.Unlock()
}
