// Package fakes holds what every fake upstream service shares: request
// counting, fault injection and a little latency, behind the control
// endpoints tests and benchmarks drive (the contract tools outside this
// repository rely on too, listed in .dev/stack.json):
//
//	GET    /__stats        → 200 {"requests": {"<METHOD> <path>": n, …}}
//	POST   /__stats/reset  → 204
//	POST   /__faults       {"path": "<prefix>|*", "latencyMs": n, "errorRate": 0..1, "hang": bool, "dropAfter": bool} → 204
//	DELETE /__faults       → 204
//	GET    /__faults       → 200 {"faults": [...]} (read-only convenience)
//
// Those shapes are an outward contract used by tools; keep them exact.
// Control endpoints are neither counted nor subject to faults.
package fakes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is one injected misbehaviour, applied to requests whose path starts
// with Path ("*" matches every path, with the lowest precedence).
type Fault struct {
	Path      string  `json:"path"`
	LatencyMs int     `json:"latencyMs"`
	ErrorRate float64 `json:"errorRate"`
	Hang      bool    `json:"hang"`
	// DropAfter serves the request in full (the service does the work: a
	// job accepted, rows stored) and then drops the connection instead of
	// answering: the client cannot tell whether its request took effect,
	// the classic trap for a retry that duplicates.
	DropAfter bool `json:"dropAfter,omitempty"`
}

// maxFaultLatency keeps a typo from parking requests for hours.
const maxFaultLatency = 10 * time.Minute

// Validate reports whether f can be installed.
func (f Fault) Validate() error {
	var errs []error
	if f.Path != "*" && !strings.HasPrefix(f.Path, "/") {
		errs = append(errs, errors.New(`path must be "*" or start with "/"`))
	}
	if f.LatencyMs < 0 || time.Duration(f.LatencyMs)*time.Millisecond > maxFaultLatency {
		errs = append(errs, fmt.Errorf("latencyMs must be between 0 and %d", maxFaultLatency.Milliseconds()))
	}
	if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) { // also rejects NaN
		errs = append(errs, errors.New("errorRate must be between 0 and 1"))
	}
	return errors.Join(errs...)
}

func (f Fault) matches(path string) bool {
	return f.Path == "*" || strings.HasPrefix(path, f.Path)
}

// specificity orders matching faults: the longest prefix wins, "*" loses to
// any prefix.
func (f Fault) specificity() int {
	if f.Path == "*" {
		return -1
	}
	return len(f.Path)
}

// Option tunes a Fake.
type Option func(*Fake)

// WithLatency sets the base latency added to every counted request, drawn
// uniformly from [lo, hi]. The default, 1–3 ms, keeps tests from relying on
// an upstream that answers instantly; WithLatency(0, 0) turns it off.
func WithLatency(lo, hi time.Duration) Option {
	return func(f *Fake) {
		lo = max(lo, 0)
		f.latLo, f.latHi = lo, max(hi, lo)
	}
}

// WithControl serves the control endpoints under prefix (which must start
// with "/__") with h: a fake's own test-only views and faults, such as the
// BigQuery fake's table rows or a lock vendor that reports success while
// nothing changed. Like the shared ones they are neither counted nor
// subject to faults.
func WithControl(prefix string, h http.Handler) Option {
	return func(f *Fake) {
		if !strings.HasPrefix(prefix, "/__") {
			return
		}
		if f.control == nil {
			f.control = map[string]http.Handler{}
		}
		f.control[prefix] = h
	}
}

// Fake wraps a fake service's handler with counting and faults. It is safe
// for concurrent use.
type Fake struct {
	name         string
	next         http.Handler
	latLo, latHi time.Duration

	mu     sync.Mutex
	counts map[string]int64
	faults map[string]Fault // by Path: posting the same path replaces

	control map[string]http.Handler // extra control endpoints, by path prefix

	inFlight  atomic.Int64
	closeOnce sync.Once
	closed    chan struct{}
}

// New wraps next. name appears in error bodies ("tenant-service").
func New(name string, next http.Handler, opts ...Option) *Fake {
	f := &Fake{
		name:   name,
		next:   next,
		latLo:  time.Millisecond,
		latHi:  3 * time.Millisecond,
		counts: map[string]int64{},
		faults: map[string]Fault{},
		closed: make(chan struct{}),
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Name is the service name given to New.
func (f *Fake) Name() string { return f.name }

// Stats returns a copy of the request counts by "<METHOD> <path>".
func (f *Fake) Stats() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counts)
}

// Count returns how many requests of method to path were received.
func (f *Fake) Count(method, path string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method+" "+path]
}

// ResetStats zeroes the counts.
func (f *Fake) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.counts)
}

// SetFault installs (or replaces, for the same Path) a fault.
func (f *Fake) SetFault(ft Fault) error {
	if err := ft.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[ft.Path] = ft
	return nil
}

// ClearFaults removes every fault. Requests already hanging keep hanging
// until their client gives up, like a real stuck upstream would.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.faults)
}

// Faults returns the installed faults, most specific first.
func (f *Fake) Faults() []Fault {
	f.mu.Lock()
	out := slices.Collect(maps.Values(f.faults))
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b Fault) int {
		if c := b.specificity() - a.specificity(); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

// InFlight is the number of counted requests being served right now,
// hanging ones included.
func (f *Fake) InFlight() int { return int(f.inFlight.Load()) }

// Close releases every hanging request (they answer 503) so a server
// shutdown never waits on a client that has no timeout.
func (f *Fake) Close() { f.closeOnce.Do(func() { close(f.closed) }) }

func (f *Fake) faultFor(path string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var best Fault
	found := false
	for _, ft := range f.faults {
		if ft.matches(path) && (!found || ft.specificity() > best.specificity()) {
			best, found = ft, true
		}
	}
	return best, found
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/__") {
		for prefix, h := range f.control {
			if strings.HasPrefix(r.URL.Path, prefix) {
				h.ServeHTTP(w, r)
				return
			}
		}
		f.serveControl(w, r)
		return
	}
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	f.mu.Lock()
	f.counts[r.Method+" "+r.URL.Path]++
	f.mu.Unlock()

	ft, faulty := f.faultFor(r.URL.Path)
	if faulty && ft.Hang {
		select {
		case <-r.Context().Done():
			return // the client left; nobody reads an answer
		case <-f.closed:
			f.unavailable(w, "service is shutting down")
			return
		}
	}
	delay := f.latLo
	if f.latHi > f.latLo {
		delay += rand.N(f.latHi - f.latLo + 1)
	}
	if faulty {
		delay += time.Duration(ft.LatencyMs) * time.Millisecond
	}
	if !f.sleep(r, delay) {
		return
	}
	if faulty && ft.ErrorRate > 0 && rand.Float64() < ft.ErrorRate {
		f.unavailable(w, "injected fault")
		return
	}
	if faulty && ft.DropAfter {
		f.next.ServeHTTP(&discarded{h: http.Header{}}, r)
		// The server closes the connection without a response; the
		// client sees it reset (EOF), never a status.
		panic(http.ErrAbortHandler)
	}
	f.next.ServeHTTP(w, r)
}

// discarded is the answer nobody receives.
type discarded struct{ h http.Header }

func (d *discarded) Header() http.Header         { return d.h }
func (d *discarded) Write(b []byte) (int, error) { return len(b), nil }
func (d *discarded) WriteHeader(int)             {}

// sleep waits d unless the client leaves or the fake closes first.
func (f *Fake) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-f.closed:
		return true
	}
}

func (f *Fake) unavailable(w http.ResponseWriter, detail string) {
	WriteProblem(w, http.StatusServiceUnavailable, "MELMASTOON.FAKE.UNAVAILABLE", f.name+": "+detail)
}

func (f *Fake) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/__stats":
		if !allow(w, r, http.MethodGet) {
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"requests": f.Stats()})
	case "/__stats/reset":
		if !allow(w, r, http.MethodPost) {
			return
		}
		f.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	case "/__faults":
		switch r.Method {
		case http.MethodPost:
			var ft Fault
			if err := DecodeJSON(r, &ft); err != nil {
				WriteProblem(w, http.StatusBadRequest, "MELMASTOON.FAKE.VALIDATION_FAILED", err.Error())
				return
			}
			if err := f.SetFault(ft); err != nil {
				WriteProblem(w, http.StatusBadRequest, "MELMASTOON.FAKE.VALIDATION_FAILED", err.Error())
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			f.ClearFaults()
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			WriteJSON(w, http.StatusOK, map[string]any{"faults": f.Faults()})
		default:
			allow(w, r, http.MethodGet, http.MethodPost, http.MethodDelete)
		}
	default:
		WriteProblem(w, http.StatusNotFound, "MELMASTOON.FAKE.NOT_FOUND", "no control endpoint "+r.URL.Path)
	}
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	WriteProblem(w, http.StatusMethodNotAllowed, "MELMASTOON.FAKE.METHOD_NOT_ALLOWED", "method "+r.Method+" is not allowed")
	return false
}

// DecodeJSON reads one JSON object from r's body (at most 64 KiB), rejecting
// unknown fields, the way the real services do.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return errors.New("body: more than one JSON value")
	}
	return nil
}

// WriteJSON writes v as a JSON response; v is encoded first so a failure
// never leaves a half-written 200.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/json", v)
}

// WriteProblem writes an RFC 9457 problem, the error shape of every
// Melmastoon service.
func WriteProblem(w http.ResponseWriter, status int, code, detail string) {
	writeBody(w, status, "application/problem+json", map[string]any{
		"type":   "https://errors.melmastoon.dev/" + code,
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
		"code":   code,
	})
}

func writeBody(w http.ResponseWriter, status int, ctype string, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, `{"code":"MELMASTOON.FAKE.INTERNAL"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
