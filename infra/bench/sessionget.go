package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// sessionGetLevels are the concurrencies of session-get: 1 for the latency
// one request pays, 16 for throughput with the ledger's group commit at
// work (up to 16 rows a transaction).
var sessionGetLevels = []int{1, 16}

// SessionGet measures what the operator-activity row costs a request:
// GET /v1/session with a warm session through the full gate (JWT, Redis
// session, activity row, answer), with the real ledger and then with a
// recorder that writes nothing, at each concurrency, in one process against
// one dev server so that both variants share every other cost.
func SessionGet(ctx context.Context, env Env, o Options) (*Report, error) {
	o = o.withDefaults(5 * time.Second)
	if os.Getenv("PUBSUB_EMULATOR_HOST") == "" {
		return nil, errors.New("session-get: PUBSUB_EMULATOR_HOST is not set: the gate publishes session.opened.v1; run `make bench`, which starts the emulator")
	}
	rep := newReport("session-get", "GET /v1/session, warm session, full gate: real activity ledger vs no-op recorder")
	gs, err := startGateServer(ctx, env, rep)
	if err != nil {
		return nil, fmt.Errorf("session-get: %w", err)
	}
	defer gs.Close()
	srv, ledger, rec, server := gs.Server, gs.ledger, gs.rec, gs.postgres

	levels := sessionGetLevels
	who, err := identities(srv.Demo, levels[len(levels)-1])
	if err != nil {
		return nil, fmt.Errorf("session-get: %w", err)
	}
	client := loopbackClient(64)
	defer client.CloseIdleConnections()
	url := gs.url + "/v1/session"
	if err := openSessions(ctx, client, srv, url, who); err != nil {
		return nil, fmt.Errorf("session-get: %w", err)
	}

	rep.Settings = map[string]any{
		"endpoint": "GET /v1/session", "postgres": server, "warmupSeconds": o.Warmup.Seconds(), "durationSeconds": o.Duration.Seconds(),
		"concurrency": levels, "identities": len(who), "tenants": countTenants(who),
		"ledger":   "the dev server's activity.Ledger as setup.Gate builds it for every function (default options and pool size)",
		"noop":     "a gate.Recorder that returns nil at once: the same gate without the row (bench only)",
		"client":   "closed loop in the same process over keep-alive loopback HTTP/1.1; worker w sends as identity w, w+c, w+2c, … in turn",
		"sessions": "opened before the runs (first request of each device), so every measured request finds its session in Redis",
	}
	variants := []struct {
		name string
		r    gate.Recorder
	}{
		{"gate + ledger", ledger},
		{"gate + no-op recorder", noopRecorder{}},
	}
	byKey := map[string]Run{}
	for _, c := range levels {
		for _, v := range variants {
			rec.use(v.r)
			var st statusCounts
			fn := sessionGetOp(client, url, who, c, &st)
			if err := warmup(ctx, c, o.Warmup, fn); err != nil {
				return nil, fmt.Errorf("session-get %s c=%d: %w", v.name, c, err)
			}
			st.reset()
			before := ledger.Stats()
			res, err := closedLoop(ctx, c, o.Duration, fn)
			if err != nil {
				return nil, fmt.Errorf("session-get %s c=%d: %w", v.name, c, err)
			}
			after := ledger.Stats()
			run := runOf(v.name, "request", res)
			run.Statuses = st.snapshot()
			rows, batches := after.Rows-before.Rows, after.Batches-before.Batches
			run.Extra = map[string]float64{
				"ledgerRows": float64(rows), "ledgerBatches": float64(batches),
				"ledgerFailedBatches": float64(after.FailedBatches - before.FailedBatches),
			}
			if batches > 0 {
				run.Extra["rowsPerBatch"] = round3(float64(rows) / float64(batches))
			}
			rep.Runs = append(rep.Runs, run)
			byKey[v.name+"/"+strconv.Itoa(c)] = run
		}
	}
	rec.use(ledger)

	lo, hi := levels[0], levels[len(levels)-1]
	get := func(variant string, c int) Run { return byKey[variant+"/"+strconv.Itoa(c)] }
	realLo, noopLo := get(variants[0].name, lo), get(variants[1].name, lo)
	realHi, noopHi := get(variants[0].name, hi), get(variants[1].name, hi)
	rep.Figures = []Figure{
		{Name: fmt.Sprintf("activity row cost per request, c=%d (p50)", lo), Value: round3(realLo.Latency.P50 - noopLo.Latency.P50), Unit: "ms",
			How: "p50 latency with the ledger minus p50 with the no-op recorder"},
		{Name: fmt.Sprintf("activity row cost per request, c=%d (mean)", lo), Value: round3(realLo.Latency.Mean - noopLo.Latency.Mean), Unit: "ms",
			How: "mean latency with the ledger minus mean with the no-op recorder"},
		{Name: fmt.Sprintf("throughput with ledger / without, c=%d", hi), Value: round3(ratio(realHi.PerSecond, noopHi.PerSecond)), Unit: "×",
			How: "req/s with the ledger divided by req/s with the no-op recorder"},
		{Name: fmt.Sprintf("ledger rows per transaction, c=%d", hi), Value: realHi.Extra["rowsPerBatch"], Unit: "rows",
			How: "Ledger.Stats() rows / batches over the measured run: the group commit at work"},
	}
	rep.Notes = []string{
		"Client, dev server, Postgres, Redis and the emulators share the machine's CPUs: absolute figures are lower than on Cloud Run; compare the variants, which share every other cost.",
		"At c=1 every row is its own transaction (the ledger never lingers when idle), so the p50 difference is what one single-row transaction costs: a round trip to Postgres, the insert and its commit.",
	}
	return rep, nil
}

// switchRecorder lets the bench swap the gate's recorder between runs
// without restarting the server; production wires *activity.Ledger.
type switchRecorder struct {
	cur atomic.Pointer[gate.Recorder]
}

func (s *switchRecorder) use(r gate.Recorder) { s.cur.Store(&r) }

func (s *switchRecorder) Record(ctx context.Context, entries ...activity.Entry) error {
	return (*s.cur.Load()).Record(ctx, entries...)
}

// noopRecorder is the gate without its activity row: the baseline.
type noopRecorder struct{}

func (noopRecorder) Record(context.Context, ...activity.Entry) error { return nil }

// identity is one desktop: a token for a (tenant, operator, device) and the
// session the device opened.
type identity struct {
	tenantID, operatorID, deviceID, platform string
	token, sessionID                         string
}

// identities picks n devices of demo operators that have a property scope,
// alternating tenants so that rows spread over them. When the demo has
// fewer devices than n, its operators get extra devices (a second desktop
// at another desk), since the gate trusts the token's device id.
func identities(ds *demo.Dataset, n int) ([]identity, error) {
	var devices, ops [][]identity // per tenant
	for _, t := range ds.Tenants {
		var devs, opers []identity
		for _, o := range t.Operators {
			if len(o.PropertyScope) == 0 {
				continue
			}
			opers = append(opers, identity{tenantID: t.ID, operatorID: o.ID, platform: "linux"})
			for _, d := range o.Devices {
				devs = append(devs, identity{tenantID: t.ID, operatorID: o.ID, deviceID: d.ID, platform: d.Platform})
			}
		}
		devices, ops = append(devices, devs), append(ops, opers)
	}
	out := interleave(devices, n)
	extra := interleave(ops, -1)
	if len(extra) == 0 {
		return nil, errors.New("the demo dataset has no operator with a property scope")
	}
	for i := 0; len(out) < n; i++ {
		w := extra[i%len(extra)]
		w.deviceID = ids.New(ids.Device)
		out = append(out, w)
	}
	return out, nil
}

// interleave takes one element of each list in turn, up to n (n < 0: all).
func interleave(lists [][]identity, n int) []identity {
	var out []identity
	for i := 0; ; i++ {
		added := false
		for _, l := range lists {
			if i < len(l) && (n < 0 || len(out) < n) {
				out = append(out, l[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

func countTenants(who []identity) int {
	seen := map[string]bool{}
	for _, w := range who {
		seen[w.tenantID] = true
	}
	return len(seen)
}

// openSessions mints each identity's token and sends its first request,
// which opens the session (with its auth row and session.opened.v1), so
// that the runs measure warm sessions only.
func openSessions(ctx context.Context, client *http.Client, srv *devserver.Server, url string, who []identity) error {
	for i := range who {
		w := &who[i]
		tok, err := srv.IAM.Mint(iam.Claims{TenantID: w.tenantID, OperatorID: w.operatorID, DeviceID: w.deviceID}, 12*time.Hour)
		if err != nil {
			return fmt.Errorf("mint token for %s: %w", w.deviceID, err)
		}
		w.token = tok
		req, err := newSessionRequest(ctx, url, w)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("open session of %s: %w", w.deviceID, err)
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("open session of %s: HTTP %d: %s", w.deviceID, res.StatusCode, body)
		}
		w.sessionID = res.Header.Get("X-Session-Id")
		if w.sessionID == "" {
			return fmt.Errorf("open session of %s: no X-Session-Id in the answer", w.deviceID)
		}
	}
	return nil
}

// newSessionRequest is what the desktop client sends: its token, its
// session once it has one, and its self-description.
func newSessionRequest(ctx context.Context, url string, w *identity) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	if w.sessionID != "" {
		req.Header.Set("X-Session-Id", w.sessionID)
	}
	req.Header.Set("X-App-Version", "3.4.1")
	req.Header.Set("X-App-Platform", w.platform)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// sessionGetOp is one GET /v1/session as identity w, w+c, w+2c, … of who.
func sessionGetOp(client *http.Client, url string, who []identity, c int, st *statusCounts) op {
	return func(ctx context.Context, worker, iter int) error {
		w := &who[(worker+iter*c)%len(who)]
		req, err := newSessionRequest(ctx, url, w)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			st.transport.Add(1)
			return fmt.Errorf("GET /v1/session: %w", err)
		}
		// Drained so the keep-alive connection is reused.
		_, cerr := io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		st.add(res.StatusCode)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /v1/session: HTTP %d (%s)", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if cerr != nil {
			return fmt.Errorf("GET /v1/session: read body: %w", cerr)
		}
		return nil
	}
}

// statusCounts counts answers by HTTP status without a lock on the hot path.
type statusCounts struct {
	codes     [600]atomic.Uint64
	transport atomic.Uint64
}

func (s *statusCounts) add(code int) {
	if code >= 0 && code < len(s.codes) {
		s.codes[code].Add(1)
	}
}

func (s *statusCounts) reset() {
	for i := range s.codes {
		s.codes[i].Store(0)
	}
	s.transport.Store(0)
}

func (s *statusCounts) snapshot() map[string]uint64 {
	out := map[string]uint64{}
	for i := range s.codes {
		if n := s.codes[i].Load(); n > 0 {
			out[strconv.Itoa(i)] = n
		}
	}
	if n := s.transport.Load(); n > 0 {
		out["transport error"] = n
	}
	return out
}
