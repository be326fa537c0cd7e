package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Herd sizes: the target is 1,000 concurrent cold requests over 4
// processes costing one upstream fan-out per widget.
const (
	herdProcesses = 4
	herdRequests  = 1000
	// herdDevices are the desktops the requests come from: one operator's,
	// so that every request asks for the same (tenant, property, role).
	herdDevices = 16
	// herdMaxRounds bounds the rounds a long -duration asks for.
	herdMaxRounds = 20
)

// DashboardHerd sends 1,000 concurrent cold GET /v1/dashboard for one
// (tenant, property, role), spread over 4 dev-server processes that share
// one Redis, one database and one fake fleet, and counts the fleet's calls
// through its /__stats: single flight inside and across instances should
// leave exactly one call per widget endpoint. It repeats rounds, each on a
// fresh cache key, until Options.Duration has passed (at least one).
func DashboardHerd(ctx context.Context, env Env, o Options) (*Report, error) {
	o = o.withDefaults(5 * time.Second)
	if os.Getenv("PUBSUB_EMULATOR_HOST") == "" {
		return nil, errors.New("dashboard-herd: PUBSUB_EMULATOR_HOST is not set; run `make bench`, which starts the emulator")
	}
	rep := newReport("dashboard-herd", fmt.Sprintf("%d concurrent cold GET /v1/dashboard, one (tenant, property, role), over %d dev-server processes", herdRequests, herdProcesses))
	h, err := startHerd(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("dashboard-herd: %w", err)
	}
	defer h.close()

	rep.Settings = map[string]any{
		"processes": herdProcesses, "requests": herdRequests, "devices": herdDevices,
		"tenant": h.tenantID, "property": h.propertyID, "role": h.role, "widgets": h.widgets,
		"processSetup":    "infra/cmd/devserver built once (no -race), each process with its own pools, composer and singleflight group, all on the scenario's database, Redis prefix and emulator project",
		"fakes":           "one iam, tenant and fleet of fakes in the bench process (default 1–3 ms latency), shared by the 4 processes; counted through GET /__stats after POST /__stats/reset",
		"client":          "one goroutine per request, released together; request i goes to process i mod 4 as device i mod 16 (sessions opened beforehand)",
		"cold":            "each round invalidates the property first (a new generation: no snapshot, so every request starts cold)",
		"durationSeconds": o.Duration.Seconds(),
	}
	var (
		all        Histogram
		maxPerCall int64
		maxSnaps   int
		allOneEach = true
		lastCounts map[string]int64
		start      = time.Now()
	)
	for round := 1; round == 1 || (time.Since(start) < o.Duration && round <= herdMaxRounds); round++ {
		res, err := h.round(ctx)
		if err != nil {
			return nil, fmt.Errorf("dashboard-herd round %d: %w", round, err)
		}
		run := Run{
			Name: fmt.Sprintf("round %d", round), Concurrency: herdRequests, Seconds: round3(res.wall.Seconds()), Unit: "request",
			OK: res.ok, Failed: res.failed, PerSecond: round1(ratio(float64(res.ok), res.wall.Seconds())),
			Statuses: res.statuses, Errors: res.errors,
		}
		lat := res.latency.Latency()
		run.Latency = &lat
		all.Merge(&res.latency)
		run.Extra = map[string]float64{
			"distinctSnapshots": float64(len(res.snapshots)), "upstreamCalls": float64(sum(res.calls)),
			"widgetEndpoints": float64(len(res.calls)), "tenantServiceCalls": float64(sum(res.tenantCalls)),
		}
		for k, n := range res.calls {
			run.Extra["calls "+k] = float64(n)
			maxPerCall = max(maxPerCall, n)
			if n != 1 {
				allOneEach = false
			}
		}
		if len(res.calls) != len(h.widgets) {
			allOneEach = false
		}
		maxSnaps = max(maxSnaps, len(res.snapshots))
		lastCounts = res.calls
		rep.Runs = append(rep.Runs, run)
	}
	rep.Settings["endpointCountsLastRound"] = lastCounts
	lat := all.Latency()
	rep.Figures = []Figure{
		{Name: "upstream calls per widget endpoint, max over rounds", Value: float64(maxPerCall), Unit: "calls",
			How:    fmt.Sprintf("the fleet's /__stats per endpoint after each round (%d upstream widgets — syncStatus reads the BFF's own device records —, so %d endpoints expected)", len(h.widgets), len(h.widgets)),
			Target: "exactly 1 per widget", Met: met(allOneEach)},
		{Name: "distinct snapshot ids per round, max", Value: float64(maxSnaps), Unit: "ids",
			How: "distinct `id` of the 1,000 answers of a round", Target: "1", Met: met(maxSnaps == 1)},
		{Name: "latency p50, all rounds", Value: round3(lat.P50), Unit: "ms", How: "from the release of the 1,000 requests to each answer"},
		{Name: "latency p99, all rounds", Value: round3(lat.P99), Unit: "ms", How: "from the release of the 1,000 requests to each answer"},
	}
	rep.Notes = []string{
		"The latency is mostly queueing: 1,000 requests arrive at once on a 2-core machine that also runs the 4 processes, the fakes, Postgres, Redis and the emulators; each request pays JWT, session and its activity row, and only one composition.",
		"tenantServiceCalls are the composing instance's property time zones (cached per instance afterwards), not a widget fan-out.",
	}
	return rep, nil
}

// herd is the multi-process setup of DashboardHerd (and its test twin in
// infra/e2e, which asserts what this measures).
type herd struct {
	fakes      *devserver.Fakes
	procs      []*devserver.Process
	rdb        *redisx.Client
	client     *http.Client
	who        []identity
	tenantID   string
	propertyID string
	role       string
	widgets    []string
	fleetURLs  map[string]string
	tmp        string
}

func (h *herd) close() {
	for _, p := range h.procs {
		_ = p.Close()
	}
	if h.fakes != nil {
		h.fakes.Close()
	}
	if h.rdb != nil {
		_ = h.rdb.Close()
	}
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
	if h.tmp != "" {
		_ = os.RemoveAll(h.tmp)
	}
}

func startHerd(ctx context.Context, env Env) (_ *herd, err error) {
	h := &herd{client: loopbackClient(herdRequests)}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	ds, err := demo.Load(env.RepoRoot + "/testdata/demo.json")
	if err != nil {
		return nil, err
	}
	if h.fakes, err = devserver.StartFakes(env.RepoRoot, ds, [2]time.Duration{}); err != nil {
		return nil, err
	}
	unthrottled(h.fakes.Tenant, ds)
	h.fleetURLs = maps.Clone(h.fakes.Fleet.URLs)
	// The processes publish session.opened.v1 and sampled telemetry; with
	// no topic every publish would only log a failure.
	if err := pubsubevents.EnsureTopics(ctx, env.ProjectID, events.Emitted()...); err != nil {
		return nil, err
	}
	if h.tmp, err = os.MkdirTemp("", "bench-herd-"); err != nil {
		return nil, err
	}
	bin, err := devserver.BuildCommand(ctx, env.RepoRoot, h.tmp)
	if err != nil {
		return nil, err
	}
	for range herdProcesses {
		p, err := devserver.StartProcess(ctx, devserver.ProcessOptions{
			Binary: bin, RepoRoot: env.RepoRoot, DatabaseURL: env.AppURL, RedisAddr: env.RedisAddr,
			RedisPrefix: env.RedisPrefix, ProjectID: env.ProjectID, Upstreams: h.fakes.Upstreams,
			// Errors only: a widget late under the herd's load warns, and
			// the counts tell that story.
			Stderr: os.Stderr, LogLevel: "error",
		})
		if err != nil {
			return nil, err
		}
		h.procs = append(h.procs, p)
	}
	if h.rdb, err = redisx.Open(ctx, redisx.Config{Addr: env.RedisAddr, KeyPrefix: env.RedisPrefix, PoolSize: 4}); err != nil {
		return nil, err
	}

	// One manager's desktops: extra device ids beyond the demo's, since
	// the gate trusts the token's device.
	tn, op, err := herdOperator(ds)
	if err != nil {
		return nil, err
	}
	h.tenantID, h.propertyID, h.role = tn.ID, defaultProperty(op), views.RoleKey(op.Roles)
	h.widgets = views.UpstreamWidgets(op.Roles)
	for i := range herdDevices {
		w := identity{tenantID: tn.ID, operatorID: op.ID, deviceID: ids.New(ids.Device), platform: "linux"}
		if i < len(op.Devices) {
			w.deviceID, w.platform = op.Devices[i].ID, op.Devices[i].Platform
		}
		if w.token, err = h.fakes.IAM.Mint(iam.Claims{TenantID: w.tenantID, OperatorID: w.operatorID, DeviceID: w.deviceID}, 12*time.Hour); err != nil {
			return nil, fmt.Errorf("mint token: %w", err)
		}
		res, err := h.get(ctx, h.procs[i%len(h.procs)].BaseURL+"/v1/session", &w)
		if err != nil {
			return nil, fmt.Errorf("open session: %w", err)
		}
		if res.sessionID == "" {
			return nil, errors.New("open session: no X-Session-Id in the answer")
		}
		w.sessionID = res.sessionID
		h.who = append(h.who, w)
	}
	return h, nil
}

// herdOperator is the first manager with a property: the role that sees
// every widget, so the herd fans out to every fake.
func herdOperator(ds *demo.Dataset) (demo.Tenant, demo.Operator, error) {
	for _, t := range ds.Tenants {
		for _, o := range t.Operators {
			if slices.Contains(o.Roles, tenant.RoleManager) && defaultProperty(o) != "" {
				return t, o, nil
			}
		}
	}
	return demo.Tenant{}, demo.Operator{}, errors.New("the demo dataset has no manager with a property")
}

type herdAnswer struct {
	status     int
	sessionID  string
	snapshotID string
}

func (h *herd) get(ctx context.Context, url string, w *identity) (herdAnswer, error) {
	req, err := newSessionRequest(ctx, url, w)
	if err != nil {
		return herdAnswer{}, err
	}
	res, err := h.client.Do(req)
	if err != nil {
		return herdAnswer{}, fmt.Errorf("GET %s: %w", url, err)
	}
	defer res.Body.Close()
	a := herdAnswer{status: res.StatusCode, sessionID: res.Header.Get("X-Session-Id")}
	var body struct {
		ID string `json:"id"`
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return a, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	if res.StatusCode != http.StatusOK {
		return a, fmt.Errorf("GET %s: HTTP %d: %.300s", url, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return a, fmt.Errorf("GET %s: decode: %w", url, err)
	}
	a.snapshotID = body.ID
	return a, nil
}

type herdResult struct {
	ok, failed  uint64
	wall        time.Duration
	latency     Histogram
	statuses    map[string]uint64
	errors      []string
	snapshots   map[string]int
	calls       map[string]int64 // fleet endpoint → calls
	tenantCalls map[string]int64
}

// round invalidates the property, zeroes the fakes' counts, releases
// herdRequests requests at once and reads the counts back.
func (h *herd) round(ctx context.Context) (*herdResult, error) {
	if err := compose.New(h.rdb, compose.Options{}).InvalidateProperty(ctx, h.tenantID, h.propertyID); err != nil {
		return nil, err
	}
	ups := maps.Clone(h.fleetURLs)
	ups["tenant"] = h.fakes.Upstreams["tenant"]
	if err := resetStats(ctx, h.client, ups); err != nil {
		return nil, err
	}
	r := &herdResult{statuses: map[string]uint64{}, snapshots: map[string]int{}}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		gate = make(chan struct{})
		seen = map[string]bool{}
	)
	for i := range herdRequests {
		wg.Go(func() {
			<-gate
			t0 := time.Now()
			a, err := h.get(ctx, h.procs[i%len(h.procs)].BaseURL+"/v1/dashboard", &h.who[i%len(h.who)])
			took := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			r.statuses[fmt.Sprint(a.status)]++
			if err != nil {
				r.failed++
				if e := err.Error(); !seen[e] && len(r.errors) < maxErrors {
					seen[e] = true
					r.errors = append(r.errors, e)
				}
				return
			}
			r.ok++
			r.latency.Record(took)
			r.snapshots[a.snapshotID]++
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	r.wall = time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	calls, err := fleetStats(ctx, h.client, ups)
	if err != nil {
		return nil, err
	}
	r.calls, r.tenantCalls = map[string]int64{}, map[string]int64{}
	for k, n := range calls {
		if strings.HasPrefix(k, "tenant ") {
			r.tenantCalls[k] = n
		} else {
			r.calls[k] = n
		}
	}
	return r, nil
}
