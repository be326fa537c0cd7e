package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// coldStartSample is one function of each kind: building all of them is
// make buildcheck's job, not this structural test's.
var coldStartSample = []string{"session", "alert-raised", "outbox-relay"}

// exportTestRows is the export scenario's ledger in this test: enough for
// two load jobs' worth of seal batches, not a million.
const exportTestRows = 12_000

// exportTestBatchRows makes the test's export a run of many batches, as a
// million rows are at the default batch size.
const exportTestBatchRows = 1000

// TestScenarios runs every scenario briefly against the test stack so the
// harness does not rot. It checks structure only — a report is written and
// reads back, every run did work and nothing failed — never a timing.
func TestScenarios(t *testing.T) {
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	// Facts each scenario's runs must show beyond the common ones.
	checks := map[string]func(t *testing.T, rep *Report){
		"session-get": func(t *testing.T, rep *Report) {
			if len(rep.Runs) != 2*len(sessionGetLevels) {
				t.Fatalf("%d runs, want %d", len(rep.Runs), 2*len(sessionGetLevels))
			}
			for _, r := range rep.Runs {
				if diff := cmp.Diff(map[string]uint64{"200": r.OK}, r.Statuses); diff != "" {
					t.Errorf("%s c=%d statuses (-want, +got):\n%s", r.Name, r.Concurrency, diff)
				}
				// The ledger variant commits exactly one row per answer
				// and the no-op variant none: proof the swap took effect.
				want := 0.0
				if strings.Contains(r.Name, "ledger") {
					want = float64(r.OK)
				}
				if got := r.Extra["ledgerRows"]; got != want {
					t.Errorf("%s c=%d: ledger committed %v rows, want %v", r.Name, r.Concurrency, got, want)
				}
			}
		},
		"ledger-throughput": func(t *testing.T, rep *Report) {
			if len(rep.Runs) != 3 {
				t.Fatalf("%d runs, want 3", len(rep.Runs))
			}
			l, flushed, cp := rep.Runs[0], rep.Runs[1], rep.Runs[2]
			for _, r := range []Run{l, flushed} {
				if r.Extra["committedRows"] != float64(r.OK) || r.Extra["batches"] == 0 {
					t.Errorf("%s: %d rows recorded but stats %v", r.Name, r.OK, r.Extra)
				}
			}
			// Views are relaxed, decisions never.
			if l.Extra["relaxedBatches"] != l.Extra["batches"] || flushed.Extra["relaxedBatches"] != 0 {
				t.Errorf("relaxed batches: views %v of %v, decisions %v (want all, none)",
					l.Extra["relaxedBatches"], l.Extra["batches"], flushed.Extra["relaxedBatches"])
			}
			if cp.OK != l.OK {
				t.Errorf("COPY wrote %d rows, want the ledger's %d", cp.OK, l.OK)
			}
		},
		"dashboard-cached": func(t *testing.T, rep *Report) {
			if want := 5*len(dashboardLevels) + 2; len(rep.Runs) != want { // dashboard, no-op, no-op without events, baseline, peer per level; two open-loop runs
				t.Fatalf("%d runs, want %d", len(rep.Runs), want)
			}
			for _, r := range rep.Runs {
				if diff := cmp.Diff(map[string]uint64{"200": r.OK}, r.Statuses); diff != "" {
					t.Errorf("%s c=%d statuses (-want, +got):\n%s", r.Name, r.Concurrency, diff)
				}
				if strings.HasPrefix(r.Name, "bare") || strings.HasPrefix(r.Name, "peer") { // not through the gate: their rows are not the ledger's
					continue
				}
				// Served from the cache, each with its activity row but
				// for the no-op recorder's: proof the swap took effect.
				rows := float64(r.OK)
				if strings.Contains(r.Name, "no-op") {
					rows = 0
				}
				if r.Extra["upstreamCalls"] != 0 || r.Extra["ledgerRows"] != rows {
					t.Errorf("%s: %v upstream calls and %v activity rows for %d answers", r.Name, r.Extra["upstreamCalls"], r.Extra["ledgerRows"], r.OK)
				}
				// One dashboard.viewed.v1 handed to Pub/Sub per answer, but
				// for the run that drops them.
				events := float64(r.OK)
				if strings.Contains(r.Name, "dropped") {
					events = 0
				}
				if r.Extra["viewEvents"] != events {
					t.Errorf("%s: %v view events for %d answers, want %v", r.Name, r.Extra["viewEvents"], r.OK, events)
				}
			}
		},
		"dashboard-hung": func(t *testing.T, rep *Report) {
			if len(rep.Runs) != 3 {
				t.Fatalf("%d runs, want 3", len(rep.Runs))
			}
			for _, r := range rep.Runs[1:] {
				// A hung upstream can never yield a fresh widget.
				if r.Extra["partialShare"] != 1 || r.Extra["hungWidgetsFresh"] != 0 {
					t.Errorf("%s: %v", r.Name, r.Extra)
				}
			}
			if r := rep.Runs[2]; r.Extra["hungWidgetsUnavailable"] != float64(2*r.OK) {
				t.Errorf("%s: %v unavailable hung widgets in %d answers, want 2 each", r.Name, r.Extra["hungWidgetsUnavailable"], r.OK)
			}
		},
		"cold-start": func(t *testing.T, rep *Report) {
			if len(rep.Runs) != len(coldStartSample) {
				t.Fatalf("%d runs, want one per function of %v", len(rep.Runs), coldStartSample)
			}
			for _, r := range rep.Runs {
				if r.Latency == nil || r.Latency.P50 <= 0 || r.Extra["binaryMB"] <= 0 {
					t.Errorf("%s: no start time or size: %+v %v", r.Name, r.Latency, r.Extra)
				}
			}
		},
		"export": func(t *testing.T, rep *Report) {
			if len(rep.Runs) != 2 {
				t.Fatalf("%d runs, want 2", len(rep.Runs))
			}
			ex, cp := rep.Runs[0], rep.Runs[1]
			if ex.OK != exportTestRows || cp.OK != exportTestRows || ex.Extra["sealed"] != exportTestRows || ex.Extra["peakRssMiB"] <= 0 {
				t.Errorf("export %d rows (%v), COPY %d; want %d each", ex.OK, ex.Extra, cp.OK, exportTestRows)
			}
			if ex.Extra["exportedRows"] != exportTestRows || ex.Extra["batches"] != exportTestRows/exportTestBatchRows {
				t.Errorf("the run's summary: %v rows in %v batches; want %d in %d", ex.Extra["exportedRows"], ex.Extra["batches"], exportTestRows, exportTestRows/exportTestBatchRows)
			}
		},
		"dashboard-herd": func(t *testing.T, rep *Report) {
			if len(rep.Runs) == 0 {
				t.Fatal("no round")
			}
			// Exactly one call per endpoint is the figure's target, met
			// when the lease holder composes within the waiters' budget;
			// on an overloaded machine a waiter past it composes itself,
			// by design (compose.Composer.fill). What this structural check
			// holds is that single flight ran at all: at most one
			// composition per process. TestDashboardHerdAcrossProcesses
			// (e2e) is the single-flight test.
			for _, r := range rep.Runs {
				if r.OK != herdRequests || r.Extra["distinctSnapshots"] < 1 || r.Extra["distinctSnapshots"] > herdProcesses || r.Extra["widgetEndpoints"] != 10 { // every dashboard widget but syncStatus, built from the BFF's own device records
					t.Errorf("%s: %d answers, %v", r.Name, r.OK, r.Extra)
				}
				for k, n := range r.Extra {
					if strings.HasPrefix(k, "calls ") && (n < 1 || n > herdProcesses) {
						t.Errorf("%s: %s = %v, want 1 to %d", r.Name, k, n, herdProcesses)
					}
				}
			}
		},
	}
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			check, ok := checks[s.Name]
			if !ok {
				t.Fatalf("scenario %s has no structural check here", s.Name)
			}
			_, info := testenv.Postgres(t)
			rdb := testenv.Redis(t)
			env := Env{
				RepoRoot: root, AdminURL: info.AdminURL, AppURL: info.AppURL, JobsURL: info.JobsURL,
				RedisAddr: rdb.Options().Addr, RedisPrefix: rdb.Prefix, ProjectID: testenv.ProjectID(t),
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			rep, err := s.Run(ctx, env, Options{Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Functions: coldStartSample, ExportRows: exportTestRows, ExportBatchRows: exportTestBatchRows})
			if err != nil {
				t.Fatal(err)
			}

			path, err := WriteJSON(t.TempDir(), Stamp(time.Now()), rep)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%s does not decode: %v", path, err)
			}
			if back.Scenario != s.Name || !strings.HasSuffix(path, "-"+s.Name+".json") {
				t.Errorf("%s holds scenario %q, want %q", path, back.Scenario, s.Name)
			}
			if back.Machine.NumCPU == 0 || back.Machine.GoVersion == "" || len(back.Figures) == 0 {
				t.Errorf("report lacks machine or figures: %s", b)
			}
			for _, r := range back.Runs {
				if r.OK == 0 || r.Failed != 0 || len(r.Errors) > 0 || r.PerSecond <= 0 {
					t.Errorf("run %s c=%d: ok %d, failed %d, %v/s, errors %q", r.Name, r.Concurrency, r.OK, r.Failed, r.PerSecond, r.Errors)
				}
				if r.Latency != nil && r.Latency.Samples != r.OK {
					t.Errorf("run %s: %d latency samples for %d operations", r.Name, r.Latency.Samples, r.OK)
				}
			}
			check(t, &back)

			var table bytes.Buffer
			if err := PrintTable(&table, &back); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table.String(), s.Name) || strings.Count(table.String(), "\n") < len(back.Runs)+len(back.Figures) {
				t.Errorf("table is missing lines:\n%s", table.String())
			}
		})
	}
}

func TestByName(t *testing.T) {
	t.Parallel()
	all := Scenarios()
	cases := []struct {
		list    string
		want    []string
		wantErr bool
	}{
		{list: "", want: names(all)},
		{list: "ledger-throughput, session-get", want: []string{"session-get", "ledger-throughput"}},
		{list: "ledger-throughput", want: []string{"ledger-throughput"}},
		{list: "session-get,nope", wantErr: true},
	}
	for _, tc := range cases {
		got, err := ByName(tc.list)
		if (err != nil) != tc.wantErr {
			t.Errorf("ByName(%q) error = %v, want error %v", tc.list, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, names(got)); diff != "" {
			t.Errorf("ByName(%q) (-want, +got):\n%s", tc.list, diff)
		}
	}
}

func names(ss []Scenario) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestCPUModel(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: other\n": "AMD EPYC 7B13",
		"processor\t: 0\nBogoMIPS\t: 108.00\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4\n":                            "BCM2835",
		"": "",
	}
	for in, want := range cases {
		if got := cpuModel([]byte(in)); got != want {
			t.Errorf("cpuModel(%q) = %q, want %q", in, got, want)
		}
	}
}
