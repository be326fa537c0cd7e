// Package bench measures the performance targets that `make bench` reports. Each
// scenario is one function that runs its variants side by side in one
// process against the local stack, so every figure comes with a baseline
// measured on the same machine in the same minute; absolute numbers from a
// shared 2-core VM mean little on their own.
//
// A scenario returns a Report; cmd/bench prints it as a table and writes it
// as JSON under bench/results/. Nothing here asserts a timing: the package's
// test only checks that every scenario still runs and reports.
package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Env is the part of the local stack a scenario runs against. Each
// scenario gets a database of its own, so one scenario's rows never slow
// another's inserts.
type Env struct {
	RepoRoot    string
	AdminURL    string // superuser, connected to the scenario's database (baselines only)
	AppURL      string // bff_app on the same database, what functions use
	JobsURL     string // bff_jobs on the same database, what scheduled functions use
	RedisAddr   string
	RedisPrefix string
	ProjectID   string       // Pub/Sub emulator project
	Log         *slog.Logger // the dev server's log; nil = warnings to stderr
}

// Options size a scenario's runs.
type Options struct {
	// Duration of each measured run; zero takes the scenario's default.
	Duration time.Duration
	// Warmup before each measured run, discarded; zero means 1 s.
	Warmup time.Duration
	// Functions limits cold-start to these functions; empty means all.
	Functions []string
	// ExportRows is the export scenario's ledger size; zero means
	// 1,000,000.
	ExportRows int
	// ExportBatchRows is the export's rows per load job; zero means
	// 50,000 (export-activity's default).
	ExportBatchRows int
}

func (o Options) withDefaults(duration time.Duration) Options {
	if o.Duration <= 0 {
		o.Duration = duration
	}
	if o.Warmup <= 0 {
		o.Warmup = time.Second
	}
	return o
}

// Scenario is one benchmark.
type Scenario struct {
	Name  string
	About string
	Run   func(ctx context.Context, env Env, o Options) (*Report, error)
}

// Scenarios lists every scenario in the order `make bench` runs them: the
// gate and ledger figures, then issue 3's composition figures (cached
// dashboard against a bare Redis GET, cold composition with a hung
// upstream, the thundering herd over 4 processes).
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "session-get", About: "what the operator-activity row costs GET /v1/session, against a no-op recorder", Run: SessionGet},
		{Name: "ledger-throughput", About: "activity.Ledger.Record rows/s with RLS on, against a superuser COPY", Run: LedgerThroughput},
		{Name: "dashboard-cached", About: "cached GET /v1/dashboard through the gate against a bare handler doing one Redis GET; p99 at half that load", Run: DashboardCached},
		{Name: "dashboard-hung", About: "cold GET /v1/dashboard with revenue-service hung (stale and unavailable) against all upstreams healthy", Run: DashboardHung},
		{Name: "cold-start", About: "every function binary built as the buildpack does, started as Cloud Run does: process start to first 200, and binary size", Run: ColdStart},
		{Name: "dashboard-herd", About: "1,000 concurrent cold GET /v1/dashboard over 4 dev-server processes: upstream calls per widget endpoint", Run: DashboardHerd},
		{Name: "export", About: "export-activity of 1,000,000 activity rows (seal + BigQuery load jobs, the fake) as its own process: rows/s and peak RSS, against COPY … TO STDOUT", Run: Export},
	}
}

// Report is one scenario's results: the JSON file's content and the table.
type Report struct {
	Scenario  string         `json:"scenario"`
	Title     string         `json:"title"`
	StartedAt time.Time      `json:"startedAt"`
	Machine   Machine        `json:"machine"`
	Settings  map[string]any `json:"settings"`
	Runs      []Run          `json:"runs"`
	Figures   []Figure       `json:"figures"`
	Notes     []string       `json:"notes,omitempty"`
	// Warnings are conditions that make the figures unlike production's;
	// the table prints them.
	Warnings []string `json:"warnings,omitempty"`
}

// Run is one measured run of one variant.
type Run struct {
	Name        string  `json:"name"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Unit        string  `json:"unit"` // what OK counts: "request", "row"
	OK          uint64  `json:"ok"`
	Failed      uint64  `json:"failed"`
	PerSecond   float64 `json:"perSecond"`
	// Latency is per operation; nil for a run timed only as a whole.
	Latency  *Latency          `json:"latencyMs,omitempty"`
	Statuses map[string]uint64 `json:"statuses,omitempty"` // HTTP status → count
	Errors   []string          `json:"errors,omitempty"`   // first few distinct failures
	// Extra holds run-specific counts, e.g. the ledger's rows and batches.
	Extra map[string]float64 `json:"extra,omitempty"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Samples uint64  `json:"samples"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
}

// Figure is a number derived from the runs: the answer the scenario is for.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	How   string  `json:"how"`
	// Target quotes the service's target where it has one; Met compares, for the
	// reader only: nothing fails on it.
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
}

// Machine describes where the figures were taken.
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"numCPU"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"goVersion"`
	CPUModel   string `json:"cpuModel,omitempty"`
	Kernel     string `json:"kernel,omitempty"`
	// LoadAverage is /proc/loadavg's 1-minute figure when the report
	// started: above NumCPU, other processes were competing for the CPUs.
	LoadAverage float64 `json:"loadAverage,omitempty"`
}

// ThisMachine reads the machine's description; the CPU model and kernel
// are best effort (Linux /proc only).
func ThisMachine() Machine {
	m := Machine{
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(b)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.LoadAverage, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return m
}

// cpuModel takes the first "model name" (x86) or, failing that, "Hardware"
// or "Model" (ARM boards) line of /proc/cpuinfo.
func cpuModel(cpuinfo []byte) string {
	found := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := found[k]; !dup {
			found[k] = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"model name", "Hardware", "Model"} {
		if v := found[k]; v != "" {
			return v
		}
	}
	return ""
}

func newReport(scenario, title string) *Report {
	rep := &Report{
		Scenario: scenario, Title: title, StartedAt: time.Now().UTC().Truncate(time.Second),
		Machine: ThisMachine(), Settings: map[string]any{},
	}
	if m := rep.Machine; m.LoadAverage > float64(m.NumCPU) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the machine was busy when the scenario started (load average %.1f on %d CPUs): other processes competed for the CPUs, so absolute figures are low; same-run ratios less so", m.LoadAverage, m.NumCPU))
	}
	return rep
}

// runOf turns a closed-loop result into a report row.
func runOf(name, unit string, r *loadResult) Run {
	lat := r.Latency.Latency()
	return Run{
		Name: name, Concurrency: r.Concurrency, Seconds: round3(r.Elapsed.Seconds()), Unit: unit,
		OK: r.OK, Failed: r.Failed, PerSecond: round1(r.PerSecond()), Latency: &lat, Errors: r.Errors,
	}
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

func met(ok bool) *bool { return &ok }

// ratio is a/b, or 0 when b is 0 (a run that measured nothing).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Stamp is the UTC timestamp that names one `make bench` invocation's files.
func Stamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// WriteJSON writes rep to dir/<stamp>-<scenario>.json and returns the path.
// It writes a temporary file and renames it, so a reader never sees half a
// report.
func WriteJSON(dir, stamp string, rep *Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench.WriteJSON: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", fmt.Errorf("bench.WriteJSON(%s): %w", rep.Scenario, err)
	}
	path := filepath.Join(dir, stamp+"-"+rep.Scenario+".json")
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("bench.WriteJSON: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return "", fmt.Errorf("bench.WriteJSON: %w", err)
	}
	return path, nil
}

// PrintTable writes rep for a human: one line per run, then the figures
// and warnings.
func PrintTable(w io.Writer, rep *Report) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "\n== %s — %s\n", rep.Scenario, rep.Title)
	// Numbers align right; the run names are padded here to stay left.
	nameWidth := len("run")
	for _, r := range rep.Runs {
		nameWidth = max(nameWidth, utf8.RuneCountInString(r.Name))
	}
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-*s\tconc\tsecs\tok\tfailed\tthroughput\tp50 ms\tp90 ms\tp99 ms\t\n", nameWidth, "run")
	for _, r := range rep.Runs {
		p50, p90, p99 := "-", "-", "-"
		if r.Latency != nil {
			p50, p90, p99 = fmt.Sprintf("%.3f", r.Latency.P50), fmt.Sprintf("%.3f", r.Latency.P90), fmt.Sprintf("%.3f", r.Latency.P99)
		}
		fmt.Fprintf(tw, "  %-*s\t%d\t%.2f\t%d\t%d\t%.1f %s/s\t%s\t%s\t%s\t\n",
			nameWidth, r.Name, r.Concurrency, r.Seconds, r.OK, r.Failed, r.PerSecond, unitAbbrev(r.Unit), p50, p90, p99)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench.PrintTable: %w", err)
	}
	width := 0
	for _, f := range rep.Figures {
		width = max(width, utf8.RuneCountInString(f.Name))
	}
	for _, f := range rep.Figures {
		line := fmt.Sprintf("  %-*s  %s %s", width, f.Name, formatValue(f.Value), f.Unit)
		if f.Target != "" {
			verdict := ""
			if f.Met != nil {
				verdict = map[bool]string{true: ": met", false: ": NOT met"}[*f.Met]
			}
			line += fmt.Sprintf("   (target %s%s)", f.Target, verdict)
		}
		fmt.Fprintln(&buf, strings.TrimRight(line, " "))
	}
	for _, r := range rep.Runs {
		for _, e := range r.Errors {
			fmt.Fprintf(&buf, "  ! %s: %s\n", r.Name, e)
		}
	}
	for _, wn := range rep.Warnings {
		fmt.Fprintf(&buf, "  ! %s\n", wn)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("bench.PrintTable: %w", err)
	}
	return nil
}

func unitAbbrev(u string) string {
	return cmp.Or(map[string]string{"request": "req", "row": "rows"}[u], u)
}

func formatValue(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// ByName returns the scenarios named in a comma-separated list, in the
// order of Scenarios(); an empty list selects all.
func ByName(list string) ([]Scenario, error) {
	all := Scenarios()
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for n := range strings.SplitSeq(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []Scenario
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		unknown := slices.Sorted(maps.Keys(want))
		names := make([]string, len(all))
		for i, s := range all {
			names[i] = s.Name
		}
		return nil, fmt.Errorf("bench: unknown scenario %s (have %s)", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	return out, nil
}
