package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/contract"
	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// TestHerdAcrossProcesses is the thundering-herd target as a count: 1,000
// concurrent cold GET /v1/dashboard for one (tenant, property, role),
// spread over 4 dev-server processes sharing one Redis, one database and
// one fake fleet, cost exactly one upstream call per widget endpoint, read
// from the fakes' /__stats, and every answer is the same snapshot.
// shared/compose's TestHerdAcrossInstances proves the same in one process;
// this one crosses real process boundaries (separate singleflight groups,
// pools and clocks) and goes through the gate. `make bench`'s
// dashboard-herd measures its latency.
func TestHerdAcrossProcesses(t *testing.T) {
	t.Parallel()
	const (
		processes = 4
		requests  = 1000
		devices   = 16
	)
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	_, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	project := testenv.ProjectID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	spec, err := contract.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := demo.Load(root + "/testdata/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	fk, err := devserver.StartFakes(root, ds, [2]time.Duration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	if err := pubsubevents.EnsureTopics(ctx, project, events.Emitted()...); err != nil {
		t.Fatal(err)
	}
	// A plain build: the processes are the system under test; the race
	// detector watches this side's client.
	bin, err := devserver.BuildCommand(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	var procs []*devserver.Process
	for range processes {
		p, err := devserver.StartProcess(ctx, devserver.ProcessOptions{
			Binary: bin, RepoRoot: root, DatabaseURL: info.AppURL, RedisAddr: rdb.Options().Addr,
			RedisPrefix: rdb.Prefix, ProjectID: project, Upstreams: fk.Upstreams, Stderr: &logs, LogLevel: "error",
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, logs.String())
		}
		procs = append(procs, p)
		t.Cleanup(func() {
			if err := p.Close(); err != nil {
				t.Errorf("%v\n%s", err, logs.String())
			}
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dev-server processes' log:\n%s", logs.String())
		}
	})

	// One manager's desktops (extra device ids beyond the demo's: the gate
	// trusts the token's device), sessions opened round the processes.
	tn, mgr := demoOperator(t, ds, hasRole("manager"))
	widgets := views.DashboardWidgets(mgr.Roles)
	fanout := views.UpstreamWidgets(mgr.Roles) // syncStatus reads the BFF's own device records
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: requests}}
	defer client.CloseIdleConnections()
	type desk struct{ token, session string }
	desks := make([]desk, devices)
	for i := range desks {
		dev := ids.New(ids.Device)
		if i < len(mgr.Devices) {
			dev = mgr.Devices[i].ID
		}
		tok, err := fk.IAM.Mint(iam.Claims{TenantID: tn.ID, OperatorID: mgr.ID, DeviceID: dev}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		a := herdGet(ctx, t, spec, client, procs[i%processes].BaseURL+"/v1/session", tok, "")
		if a.err != nil || a.status != http.StatusOK || a.session == "" {
			t.Fatalf("open session %d: HTTP %d, session %q, %v", i, a.status, a.session, a.err)
		}
		desks[i] = desk{tok, a.session}
	}

	// Nothing composed the dashboard yet: every request below starts cold.
	if err := fleetControl(ctx, client, fk.Fleet.URLs, http.MethodPost, "/__stats/reset"); err != nil {
		t.Fatal(err)
	}
	answers := make([]herdAnswer, requests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range requests {
		wg.Go(func() {
			<-start
			d := desks[i%devices]
			answers[i] = herdGet(ctx, t, spec, client, procs[i%processes].BaseURL+"/v1/dashboard", d.token, d.session)
		})
	}
	close(start)
	wg.Wait()

	snapshots := map[string]int{}
	statuses := map[int]int{}
	for i, a := range answers {
		statuses[a.status]++
		if a.err != nil && statuses[a.status] == 1 {
			t.Errorf("request %d (process %d): HTTP %d: %v", i, i%processes, a.status, a.err)
		}
		if a.status == http.StatusOK {
			snapshots[a.snapshot]++
			if a.widgets != len(widgets) {
				t.Errorf("request %d: %d widgets, want %d", i, a.widgets, len(widgets))
			}
		}
	}
	if statuses[http.StatusOK] != requests {
		t.Fatalf("statuses %v, want %d × 200", statuses, requests)
	}
	if len(snapshots) != 1 {
		t.Errorf("%d distinct snapshots answered (%v), want 1", len(snapshots), snapshots)
	}

	calls, err := fleetCounts(ctx, client, fk.Fleet.URLs)
	if err != nil {
		t.Fatal(err)
	}
	// Each upstream widget reads its own endpoint, so one fan-out is
	// exactly one call on each of len(fanout) endpoints.
	if len(calls) != len(fanout) {
		t.Errorf("%d upstream endpoints called, want %d (one per widget %v): %v", len(calls), len(fanout), fanout, calls)
	}
	for _, k := range slices.Sorted(maps.Keys(calls)) {
		if calls[k] != 1 {
			t.Errorf("%s called %d times, want exactly 1", k, calls[k])
		}
	}
}

// demoOperator is the first operator of any demo tenant that pick accepts
// and that has a desktop.
func demoOperator(t *testing.T, ds *demo.Dataset, pick func(demo.Operator) bool) (demo.Tenant, demo.Operator) {
	t.Helper()
	for _, tn := range ds.Tenants {
		for _, o := range tn.Operators {
			if pick(o) && len(o.Devices) > 0 {
				return tn, o
			}
		}
	}
	t.Fatal("no demo operator matches")
	return demo.Tenant{}, demo.Operator{}
}

type herdAnswer struct {
	status   int
	session  string
	snapshot string
	widgets  int
	err      error
}

// herdGet runs on many goroutines: it reports contract mismatches with
// t.Error (through exchange) and returns everything else.
func herdGet(ctx context.Context, t *testing.T, spec *contract.Spec, client *http.Client, url, token, session string) herdAnswer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return herdAnswer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if session != "" {
		req.Header.Set("X-Session-Id", session)
	}
	req.Header.Set("X-App-Version", "3.4.1")
	req.Header.Set("X-App-Platform", "linux")
	res, b, err := exchange(t, spec, client, req)
	if err != nil {
		return herdAnswer{err: err}
	}
	a := herdAnswer{status: res.StatusCode, session: res.Header.Get("X-Session-Id")}
	if res.StatusCode != http.StatusOK {
		a.err = fmt.Errorf("%.300s", b)
		return a
	}
	var body struct {
		ID      string                     `json:"id"`
		Widgets map[string]json.RawMessage `json:"widgets"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		a.err = fmt.Errorf("decode %.300s: %w", b, err)
		return a
	}
	a.snapshot, a.widgets = body.ID, len(body.Widgets)
	return a
}

// fleetControl calls a control endpoint (204) of every fake.
func fleetControl(ctx context.Context, client *http.Client, urls map[string]string, method, path string) error {
	for name, u := range urls {
		req, err := http.NewRequestWithContext(ctx, method, u+path, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s of %s: %w", method, path, name, err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			return fmt.Errorf("%s %s of %s: HTTP %d", method, path, name, res.StatusCode)
		}
	}
	return nil
}

// fleetCounts reads every fake's GET /__stats, keyed "<service> <METHOD>
// <path>", leaving out endpoints never called.
func fleetCounts(ctx context.Context, client *http.Client, urls map[string]string) (map[string]int64, error) {
	out := map[string]int64{}
	for name, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/__stats", nil)
		if err != nil {
			return nil, err
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("stats of %s: %w", name, err)
		}
		var body struct {
			Requests map[string]int64 `json:"requests"`
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		_ = res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("stats of %s: %w", name, err)
		}
		for k, n := range body.Requests {
			if n > 0 {
				out[name+" "+k] = n
			}
		}
	}
	return out, nil
}

// lockedBuffer collects the processes' stderr, written from the goroutines
// os/exec copies it on.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
