// Package manifest reads functions/manifest.json, the one list of deployed
// functions. deploy.sh, terraform/, openapi.yaml, go.work and the dev server
// are all checked against it, so Load validates everything a consumer relies
// on and reports every problem at once rather than the first one.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// File is the manifest's path relative to the repository root.
const File = "functions/manifest.json"

// ModulePrefix is the Go module path of every function module minus its name.
const ModulePrefix = "github.com/melmastoon/bff-backoffice/functions/"

// Kind says how a function is triggered.
type Kind string

// The kinds a function can be.
const (
	KindHTTP      Kind = "http"
	KindEvent     Kind = "event"
	KindScheduled Kind = "scheduled"
)

// Need names a dependency of a function; terraform grants IAM roles and
// secrets, and deploy.sh sets environment, from a function's needs alone.
type Need string

// The needs a function can declare.
const (
	NeedPostgres     Need = "postgres"
	NeedJobsPostgres Need = "jobs-postgres"
	NeedRedis        Need = "redis"
	NeedPubSub       Need = "pubsub"
	NeedFirestore    Need = "firestore"
	NeedBigQuery     Need = "bigquery"
	// NeedBigQueryRead reads the audit dataset (query jobs), never writes.
	NeedBigQueryRead Need = "bigquery-read"
	NeedIAM          Need = "iam"
	NeedTenant       Need = "tenant"
	NeedUpstreams    Need = "upstreams"
)

// AllNeeds lists every valid Need.
var AllNeeds = []Need{
	NeedPostgres, NeedJobsPostgres, NeedRedis, NeedPubSub, NeedFirestore,
	NeedBigQuery, NeedBigQueryRead, NeedIAM, NeedTenant, NeedUpstreams,
}

// Manifest is the parsed functions/manifest.json.
type Manifest struct {
	Comment   string     `json:"$comment,omitempty"`
	Functions []Function `json:"functions"`
}

// Function is one deployed function.
type Function struct {
	Comment    string `json:"$comment,omitempty"`
	Name       string `json:"name"`
	Kind       Kind   `json:"kind"`
	EntryPoint string `json:"entryPoint"`
	// Routes are "METHOD /path" with OpenAPI-style {param} segments (http only).
	Routes []string `json:"routes,omitempty"`
	// Trigger is the Pub/Sub topic id the function consumes (event only).
	Trigger string `json:"trigger,omitempty"`
	// Schedule is a unix-cron expression in UTC (scheduled only).
	Schedule string  `json:"schedule,omitempty"`
	Needs    []Need  `json:"needs"`
	Deploy   *Deploy `json:"deploy,omitempty"`
}

// Deploy holds optional sizing overrides for one function; zero values mean
// "use the default" (see Function.Sizing).
type Deploy struct {
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"`
	Memory         string `json:"memory,omitempty"`
	CPU            string `json:"cpu,omitempty"`
	Concurrency    int    `json:"concurrency,omitempty"`
	MinInstances   int    `json:"minInstances,omitempty"`
	MaxInstances   int    `json:"maxInstances,omitempty"`
}

// Route is a parsed "METHOD /path".
type Route struct {
	Method string
	Path   string
}

func (r Route) String() string { return r.Method + " " + r.Path }

// Sizing is the effective deployment size of a function.
type Sizing struct {
	TimeoutSeconds int
	Memory         string
	CPU            string
	Concurrency    int
	MinInstances   int
	MaxInstances   int
}

// Defaults. Gen2 functions default to a concurrency of 1, which wastes Go's
// ability to serve many requests per instance; concurrency above 1 needs a
// whole vCPU.
const (
	DefaultTimeoutSeconds = 60
	DefaultMemory         = "512Mi"
	DefaultCPU            = "1"
	DefaultConcurrency    = 80
	DefaultMaxInstances   = 100
	// Eventarc-triggered gen2 functions cannot run longer than this.
	MaxEventTimeoutSeconds = 540
	// Cloud Run's request limit, which also bounds the SSE stream.
	MaxHTTPTimeoutSeconds = 3600
)

// Sizing returns the function's deploy settings with defaults filled in.
func (f Function) Sizing() Sizing {
	s := Sizing{
		TimeoutSeconds: DefaultTimeoutSeconds,
		Memory:         DefaultMemory,
		CPU:            DefaultCPU,
		Concurrency:    DefaultConcurrency,
		MaxInstances:   DefaultMaxInstances,
	}
	if f.Kind == KindScheduled {
		// A job processes one batch at a time and overlapping runs only
		// contend for the same rows.
		s.Concurrency = 1
		s.MaxInstances = 1
	}
	if d := f.Deploy; d != nil {
		if d.TimeoutSeconds != 0 {
			s.TimeoutSeconds = d.TimeoutSeconds
		}
		if d.Memory != "" {
			s.Memory = d.Memory
		}
		if d.CPU != "" {
			s.CPU = d.CPU
		}
		if d.Concurrency != 0 {
			s.Concurrency = d.Concurrency
		}
		s.MinInstances = d.MinInstances
		if d.MaxInstances != 0 {
			s.MaxInstances = d.MaxInstances
		}
	}
	return s
}

// Has reports whether the function declares need n.
func (f Function) Has(n Need) bool { return slices.Contains(f.Needs, n) }

// Module is the function's Go module path.
func (f Function) Module() string { return ModulePrefix + f.Name }

// Dir is the function's module directory relative to the repository root.
func (f Function) Dir() string { return "functions/" + f.Name }

// TerraformModule is the name of the function's terraform module block.
func (f Function) TerraformModule() string {
	return "fn_" + strings.ReplaceAll(f.Name, "-", "_")
}

// ParsedRoutes returns the function's routes; they were validated by Load.
func (f Function) ParsedRoutes() []Route {
	out := make([]Route, 0, len(f.Routes))
	for _, s := range f.Routes {
		if r, err := ParseRoute(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// Lookup returns the function called name.
func (m *Manifest) Lookup(name string) (Function, bool) {
	for _, f := range m.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Names returns the function names in manifest order.
func (m *Manifest) Names() []string {
	out := make([]string, len(m.Functions))
	for i, f := range m.Functions {
		out[i] = f.Name
	}
	return out
}

// Load reads and validates <repoRoot>/functions/manifest.json.
func Load(repoRoot string) (*Manifest, error) {
	path := filepath.Join(repoRoot, filepath.FromSlash(File))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifest.Load: %w", err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("manifest.Load(%s): %w", path, err)
	}
	return m, nil
}

// Parse decodes and validates a manifest. Unknown fields are errors so that a
// misspelt "trigger" or "needs" cannot silently deploy a function without it.
func Parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode: trailing data after the manifest object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

var (
	// Names become a Cloud Run service ("bff-"+name) and service account ids
	// ("bff-fn-"+name, at most 30 characters), hence the length limit.
	nameRE       = regexp.MustCompile(`^[a-z][a-z0-9-]{0,21}[a-z0-9]$`)
	entryPointRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)
	// Pub/Sub topic id rules.
	topicRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)
	pathSegRE  = regexp.MustCompile(`^([A-Za-z0-9._~-]+|\{[A-Za-z][A-Za-z0-9_]*\})$`)
	cronPartRE = regexp.MustCompile(`^[0-9A-Za-z*/,-]+$`)
	memoryRE   = regexp.MustCompile(`^[1-9][0-9]*(Mi|Gi)$`)
	cpuRE      = regexp.MustCompile(`^(0\.[0-9]+|[1-9][0-9]*)$`)
)

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// ParseRoute parses "METHOD /path".
func ParseRoute(s string) (Route, error) {
	method, path, ok := strings.Cut(s, " ")
	if !ok || !slices.Contains(httpMethods, method) {
		return Route{}, fmt.Errorf("route %q: want \"METHOD /path\" with METHOD one of %s", s, strings.Join(httpMethods, "|"))
	}
	if !strings.HasPrefix(path, "/") || path == "/" {
		return Route{}, fmt.Errorf("route %q: path must start with / and name a resource", s)
	}
	// Cloud Run answers paths ending in "z" itself (it reserves them for its
	// own health endpoints), so such a route would never reach the function.
	if strings.HasSuffix(path, "z") {
		return Route{}, fmt.Errorf("route %q: Cloud Run reserves paths ending in \"z\"", s)
	}
	if path == "/health" {
		return Route{}, fmt.Errorf("route %q: /health is served by every function and is not a route", s)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if !pathSegRE.MatchString(seg) {
			return Route{}, fmt.Errorf("route %q: bad path segment %q", s, seg)
		}
	}
	return Route{Method: method, Path: path}, nil
}

// Validate checks the manifest and joins every problem found.
func (m *Manifest) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(m.Functions) == 0 {
		add("no functions")
	}
	names := map[string]bool{}
	entryPoints := map[string]string{}
	routes := map[string]string{}
	for i, f := range m.Functions {
		where := fmt.Sprintf("functions[%d] %q", i, f.Name)
		if !nameRE.MatchString(f.Name) {
			add("%s: name must match %s", where, nameRE)
		}
		if names[f.Name] {
			add("%s: duplicate name", where)
		}
		names[f.Name] = true
		// The dev server registers every function in one process, where
		// functions-framework rejects a second registration of a name.
		if !entryPointRE.MatchString(f.EntryPoint) {
			add("%s: entryPoint must be an exported Go identifier, got %q", where, f.EntryPoint)
		} else if other, ok := entryPoints[f.EntryPoint]; ok {
			add("%s: entryPoint %q already used by %q", where, f.EntryPoint, other)
		}
		entryPoints[f.EntryPoint] = f.Name

		switch f.Kind {
		case KindHTTP:
			if len(f.Routes) == 0 {
				add("%s: http function without routes", where)
			}
			for _, s := range f.Routes {
				r, err := ParseRoute(s)
				if err != nil {
					add("%s: %w", where, err)
					continue
				}
				key := r.Method + " " + normalizePath(r.Path)
				if other, ok := routes[key]; ok {
					add("%s: route %q already served by %q", where, s, other)
				}
				routes[key] = f.Name
			}
			if f.Trigger != "" || f.Schedule != "" {
				add("%s: http function with trigger or schedule", where)
			}
		case KindEvent:
			if !topicRE.MatchString(f.Trigger) || strings.HasPrefix(f.Trigger, "goog") {
				add("%s: event function needs trigger = a Pub/Sub topic id, got %q", where, f.Trigger)
			}
			if len(f.Routes) != 0 || f.Schedule != "" {
				add("%s: event function with routes or schedule", where)
			}
		case KindScheduled:
			if err := validateCron(f.Schedule); err != nil {
				add("%s: %w", where, err)
			}
			if len(f.Routes) != 0 || f.Trigger != "" {
				add("%s: scheduled function with routes or trigger", where)
			}
		default:
			add("%s: kind must be http, event or scheduled, got %q", where, f.Kind)
		}

		seen := map[Need]bool{}
		for _, n := range f.Needs {
			if !slices.Contains(AllNeeds, n) {
				add("%s: unknown need %q (want one of %v)", where, n, AllNeeds)
			}
			if seen[n] {
				add("%s: need %q listed twice", where, n)
			}
			seen[n] = true
		}
		if err := f.validateDeploy(); err != nil {
			add("%s: %w", where, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid manifest: %w", errors.Join(errs...))
	}
	return nil
}

func (f Function) validateDeploy() error {
	d := f.Deploy
	if d == nil {
		return nil
	}
	var errs []error
	maxTimeout := MaxHTTPTimeoutSeconds
	if f.Kind == KindEvent {
		maxTimeout = MaxEventTimeoutSeconds
	}
	if d.TimeoutSeconds < 0 || d.TimeoutSeconds > maxTimeout {
		errs = append(errs, fmt.Errorf("deploy.timeoutSeconds %d out of range 1..%d", d.TimeoutSeconds, maxTimeout))
	}
	if d.Memory != "" && !memoryRE.MatchString(d.Memory) {
		errs = append(errs, fmt.Errorf("deploy.memory %q: want e.g. 512Mi or 1Gi", d.Memory))
	}
	if d.CPU != "" && !cpuRE.MatchString(d.CPU) {
		errs = append(errs, fmt.Errorf("deploy.cpu %q: want e.g. 1, 2 or 0.5", d.CPU))
	}
	if d.Concurrency < 0 || d.Concurrency > 1000 {
		errs = append(errs, fmt.Errorf("deploy.concurrency %d out of range 1..1000", d.Concurrency))
	}
	s := f.Sizing()
	if s.MinInstances < 0 || s.MaxInstances < 1 || s.MinInstances > s.MaxInstances {
		errs = append(errs, fmt.Errorf("deploy: need 0 <= minInstances (%d) <= maxInstances (%d)", s.MinInstances, s.MaxInstances))
	}
	if s.Concurrency > 1 && strings.HasPrefix(s.CPU, "0.") {
		errs = append(errs, fmt.Errorf("deploy: concurrency %d needs cpu >= 1", s.Concurrency))
	}
	return errors.Join(errs...)
}

// validateCron accepts the five-field unix-cron format Cloud Scheduler uses.
func validateCron(s string) error {
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Errorf("scheduled function needs schedule = five-field unix-cron, got %q", s)
	}
	for _, p := range fields {
		if !cronPartRE.MatchString(p) {
			return fmt.Errorf("schedule %q: bad field %q", s, p)
		}
	}
	return nil
}

// NormalizePath blanks the names of path parameters so that "/a/{id}" and
// "/a/{aimId}" compare equal.
func NormalizePath(p string) string { return normalizePath(p) }

var paramRE = regexp.MustCompile(`\{[^}/]*\}`)

func normalizePath(p string) string { return paramRE.ReplaceAllString(p, "{}") }

// RepoRoot walks up from dir to the directory that holds go.work.
func RepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("manifest.RepoRoot: %w", err)
	}
	for d := abs; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("manifest.RepoRoot: no go.work above %s", abs)
		}
		d = parent
	}
}
