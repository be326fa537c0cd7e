package bench

// The load generator is these few lines rather than fortio's periodic
// runner: fortio's histogram has fixed buckets 10–25 % wide (100 % from
// 1,000× its resolution up), which put p90/p99 up to 16 % off on
// sub-millisecond latencies in a trial, the size of the effects measured
// here; its runners also get a background context rather than ours.

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// op is one operation of a closed-loop worker: worker is the worker's index
// (0..concurrency-1) and iter counts its own operations from 0.
type op func(ctx context.Context, worker, iter int) error

// loadResult is what one closed-loop run measured.
type loadResult struct {
	Concurrency int
	Elapsed     time.Duration // start to the last worker's last answer
	OK, Failed  uint64
	Latency     Histogram // successful operations only
	Errors      []string  // the first few distinct failures, for the report
	// NotSent counts the operations an open loop gave up sending because
	// the server fell too far behind the rate.
	NotSent uint64
}

// maxErrors bounds the failures a run keeps as text.
const maxErrors = 5

// closedLoop runs concurrency workers that each issue their next operation
// as soon as the previous one answered, until d has passed. Closed loop on
// purpose: it measures the latency a client sees at that concurrency and
// the throughput the server sustains, without the queueing an open-loop
// generator piles up once it outruns the server.
//
// Workers start no new operation after d but finish the one in flight, and
// Elapsed includes that tail so that OK/Elapsed is not inflated. ctx ends
// the run early with its error.
func closedLoop(ctx context.Context, concurrency int, d time.Duration, fn op) (*loadResult, error) {
	if concurrency < 1 {
		return nil, fmt.Errorf("bench: concurrency %d < 1", concurrency)
	}
	type worker struct {
		ok, failed uint64
		lat        Histogram
		errs       []string
	}
	ws := make([]worker, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := range ws {
		wg.Go(func() {
			w := &ws[i]
			for iter := 0; ctx.Err() == nil; iter++ {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				err := fn(ctx, i, iter)
				if err != nil {
					w.failed++
					if len(w.errs) < maxErrors {
						w.errs = append(w.errs, err.Error())
					}
					continue
				}
				w.lat.Record(time.Since(t0))
				w.ok++
			}
		})
	}
	wg.Wait()
	r := &loadResult{Concurrency: concurrency, Elapsed: time.Since(start)}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: run interrupted: %w", err)
	}
	seen := map[string]bool{}
	for i := range ws {
		w := &ws[i]
		r.OK += w.ok
		r.Failed += w.failed
		r.Latency.Merge(&w.lat)
		for _, e := range w.errs {
			if !seen[e] && len(r.Errors) < maxErrors {
				seen[e] = true
				r.Errors = append(r.Errors, e)
			}
		}
	}
	return r, nil
}

// PerSecond is the closed-loop throughput of successful operations.
func (r *loadResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// warmup runs fn for d and discards the figures: it opens the connections
// and fills pgx's statement cache and Postgres's buffers. A warm-up in which
// nothing succeeded stops the scenario, since the run would only repeat its
// errors.
func warmup(ctx context.Context, c int, d time.Duration, fn op) error {
	w, err := closedLoop(ctx, c, d, fn)
	if err != nil {
		return err
	}
	if w.OK == 0 && w.Failed > 0 {
		return fmt.Errorf("every warm-up operation failed (%d), first: %s", w.Failed, w.Errors[0])
	}
	return nil
}

// openLoop sends operations at a fixed rate for d, each as soon as it is
// due whether or not earlier ones have answered, the way independent
// clients arrive: a latency target "at a given load" means this, not a
// closed loop that slows down with the server. Latency is measured from
// the moment an operation was due, so a server (or a generator on a busy
// machine) that falls behind shows as latency instead of hiding it. At
// most maxInFlight operations run at once; past that the generator waits
// for a slot, and the wait counts in the latency of what it delays.
//
// A server that cannot sustain the rate would stretch the run without end;
// the generator stops sending at 2×d and counts what it did not send.
//
// Concurrency in the result is the peak number in flight; the second
// result is how late operations started against their due time.
func openLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int, fn op) (*loadResult, *Histogram, error) {
	if rate <= 0 || maxInFlight < 1 {
		return nil, nil, fmt.Errorf("bench: open loop at %v/s with %d in flight", rate, maxInFlight)
	}
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	var (
		mu    sync.Mutex
		r     = &loadResult{}
		lag   Histogram
		seen  = map[string]bool{}
		slots = make(chan struct{}, maxInFlight)
		peak  int
		wg    sync.WaitGroup
	)
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if time.Since(start) > 2*d {
			r.NotSent = uint64(n - i)
			break
		}
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				continue
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		peak = max(peak, len(slots))
		wg.Go(func() {
			defer func() { <-slots }()
			sent := time.Now()
			err := fn(ctx, 0, i)
			took := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.Failed++
				if e := err.Error(); !seen[e] && len(r.Errors) < maxErrors {
					seen[e] = true
					r.Errors = append(r.Errors, e)
				}
				return
			}
			r.OK++
			r.Latency.Record(took)
			lag.Record(sent.Sub(due))
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	r.Concurrency = peak
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("bench: run interrupted: %w", err)
	}
	return r, &lag, nil
}
