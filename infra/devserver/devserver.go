// Package devserver runs every function of the service in one process, the
// way `make dev` and the end-to-end tests need it: the fakes of upstream
// services on their own ports, and each function started through its own
// boot.Function from the configuration a deployment would give it (so
// what runs locally is what deploys), HTTP functions mounted on their
// routes, event functions behind Pub/Sub emulator push subscriptions and
// scheduled functions at POST /_jobs/<name>.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	fakebq "github.com/melmastoon/bff-backoffice/infra/fakes/bigquery"
	"github.com/melmastoon/bff-backoffice/infra/fakes/fleet"
	"github.com/melmastoon/bff-backoffice/infra/fakes/folio"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/infra/fakes/lock"
	faketenant "github.com/melmastoon/bff-backoffice/infra/fakes/tenant"
	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
)

// DevPIIKey keys the PII hashes in dev; never used in a deployment.
const DevPIIKey = "dev-only-pii-hash-key-0123456789abcdef"

// Options configure a dev server.
type Options struct {
	RepoRoot    string // where functions/manifest.json and testdata/ are
	Addr        string // listen address; "127.0.0.1:0" when empty
	DatabaseURL string // app role
	RedisAddr   string
	RedisPrefix string // "bffbo:" when empty
	ProjectID   string // emulator project
	// PushSubscriptions creates the emulator's topics and push
	// subscriptions so events published to the emulator reach the event
	// functions. PUBSUB_EMULATOR_HOST must be set.
	PushSubscriptions bool
	// UpstreamLatency is the fakes' base latency range.
	UpstreamLatency [2]time.Duration
	// Upstreams, when set, are the base URLs of fakes someone else runs
	// (by service name: "iam", "tenant", "bigquery" and every fleet service), so that
	// several dev-server processes can share one fleet and count its
	// calls together; the server then starts no fakes of its own and
	// Server.Tenant and Server.Fleet stay nil. Its IAM still mints tokens
	// with the dev keys, which the shared iam fake publishes too.
	Upstreams map[string]string
	Log       *slog.Logger

	// JobsDatabaseURL is the jobs role's (bff_jobs); without it the
	// scheduled functions that need it answer 503.
	JobsDatabaseURL string
	// Env adds to (or overrides) the configuration every function starts
	// with — e.g. wider composition budgets for a loaded test machine.
	Env map[string]string
}

// Server is a running dev server.
type Server struct {
	BaseURL string
	IAM     *iam.IAM
	Tenant  *faketenant.Service
	Lock    *lock.Service  // nil when the fakes are someone else's
	Folio   *folio.Service // nil when the fakes are someone else's
	Fleet   *fleet.Fleet   // the property-scoped upstreams (reservation, …)
	// BigQuery is the audit lake export-activity loads into.
	BigQuery *fakebq.Service
	Demo     *demo.Dataset
	// Jobs are the scheduled functions, each run by POST JobPath(name).
	Jobs      []string
	Upstreams map[string]string
	// Env is the configuration every function is started from, by
	// environment variable name, as a deployment sets it.
	Env map[string]string

	srv     *http.Server
	closers []func()
}

// Fakes are the fake upstream services a dev server calls: the iam and
// tenant fakes and the property-scoped fleet, each on its own port.
type Fakes struct {
	IAM       *iam.IAM
	Tenant    *faketenant.Service
	BigQuery  *fakebq.Service
	Lock      *lock.Service
	Folio     *folio.Service
	Fleet     *fleet.Fleet
	Upstreams map[string]string // base URL by service name, as Options.Upstreams takes them

	servers []*fakes.Server
}

// StartFakes serves every fake on 127.0.0.1:0, answering from ds; a
// latency range with a zero upper bound keeps the fakes' default.
func StartFakes(repoRoot string, ds *demo.Dataset, latency [2]time.Duration) (_ *Fakes, err error) {
	var fopts []fakes.Option
	if latency[1] > 0 {
		fopts = append(fopts, fakes.WithLatency(latency[0], latency[1]))
	}
	f := &Fakes{Upstreams: map[string]string{}}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	f.IAM, err = iam.New(iam.Config{KeysDir: repoRoot + "/" + iam.DefaultKeysDir, Options: fopts})
	if err != nil {
		return nil, fmt.Errorf("devserver: iam fake: %w", err)
	}
	f.Tenant = faketenant.New(ds, fopts...)
	f.BigQuery = fakebq.New(fopts...)
	if err := createAuditTable(repoRoot, f.BigQuery); err != nil {
		return nil, err
	}
	f.Lock = lock.New(fopts...)
	for name, fk := range map[string]*fakes.Fake{"iam": f.IAM.Fake(), "tenant": f.Tenant.Fake(), "bigquery": f.BigQuery.Fake, "lock": f.Lock.Fake()} {
		fs, err := fakes.Listen("127.0.0.1:0", fk)
		if err != nil {
			return nil, fmt.Errorf("devserver: %w", err)
		}
		f.servers = append(f.servers, fs)
		f.Upstreams[name] = fs.URL
	}
	if f.Fleet, err = fleet.Start(ds, fopts...); err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	maps.Copy(f.Upstreams, f.Fleet.URLs)
	// folio-service answers from the fleet's generator, so its folios are
	// the stays' folios.
	f.Folio = folio.New(f.Fleet.Ops, fopts...)
	fs, err := fakes.Listen("127.0.0.1:0", f.Folio.Fake())
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	f.servers = append(f.servers, fs)
	f.Upstreams["folio"] = fs.URL
	return f, nil
}

// Close stops every fake, releasing hanging requests.
func (f *Fakes) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f.Fleet != nil {
		_ = f.Fleet.Close(ctx)
	}
	for _, s := range f.servers {
		_ = s.Close(ctx)
	}
}

// checkUpstreams reports every service a server needs but was given no
// URL for.
func checkUpstreams(ups map[string]string) error {
	var missing []string
	for _, name := range append([]string{"iam", "tenant", "bigquery", "lock", "folio"}, fleet.Names()...) {
		if ups[name] == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("devserver: Options.Upstreams has no URL for %s", strings.Join(missing, ", "))
	}
	return nil
}

// Start builds and serves everything; Close stops it.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.RedisPrefix == "" {
		o.RedisPrefix = "bffbo:"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	m, err := manifest.Load(o.RepoRoot)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	ds, err := demo.Load(o.RepoRoot + "/testdata/demo.json")
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	s := &Server{Demo: ds, Upstreams: map[string]string{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if o.Upstreams != nil {
		if err := checkUpstreams(o.Upstreams); err != nil {
			return nil, err
		}
		maps.Copy(s.Upstreams, o.Upstreams)
		// Not served: the shared iam fake publishes the same dev keys.
		if s.IAM, err = iam.New(iam.Config{KeysDir: o.RepoRoot + "/" + iam.DefaultKeysDir}); err != nil {
			return nil, fmt.Errorf("devserver: iam keys: %w", err)
		}
	} else {
		f, err := StartFakes(o.RepoRoot, ds, o.UpstreamLatency)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, f.Close)
		s.IAM, s.Tenant, s.Lock, s.Folio, s.Fleet, s.BigQuery = f.IAM, f.Tenant, f.Lock, f.Folio, f.Fleet, f.BigQuery
		maps.Copy(s.Upstreams, f.Upstreams)
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("devserver: listen %s: %w", o.Addr, err)
	}
	s.BaseURL = "http://" + ln.Addr().String()

	s.Env = map[string]string{
		"GOOGLE_CLOUD_PROJECT": o.ProjectID,
		"PII_HASH_KEY":         DevPIIKey,
		"IAM_JWKS_URL":         s.Upstreams["iam"] + "/.well-known/jwks.json",
		"IAM_ISSUER":           s.IAM.Issuer(),
		"JWT_AUDIENCE":         s.IAM.Audience(),
		"REDIS_ADDR":           o.RedisAddr,
		"REDIS_KEY_PREFIX":     o.RedisPrefix,
		"DATABASE_URL":         o.DatabaseURL,
		"TENANT_SERVICE_URL":   s.Upstreams["tenant"],
		// export-activity loads into the BigQuery fake, without
		// credentials (it refuses an endpoint off loopback).
		"BIGQUERY_ENDPOINT": s.Upstreams["bigquery"] + "/bigquery/v2/",
		"IAM_SERVICE_URL":   s.Upstreams["iam"],
		"LOCK_SERVICE_URL":  s.Upstreams["lock"],
		"FOLIO_SERVICE_URL": s.Upstreams["folio"],
		// The Java emulator on a loaded 2-core machine answers a burst of
		// writes far slower than Firestore; past the production timeout a
		// request is refused 503 while its record may have landed, and the
		// retry then waits out the lease. Dev and tests give it more time.
		"IDEMPOTENCY_TIMEOUT": "15s",
	}
	for _, name := range fleet.Names() {
		s.Env[fleet.EnvVar(name)] = s.Upstreams[name] // RESERVATION_SERVICE_URL, …
	}
	if o.JobsDatabaseURL != "" {
		s.Env["JOBS_DATABASE_URL"] = o.JobsDatabaseURL
	}
	maps.Copy(s.Env, o.Env)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", httpx.Health)
	mux.HandleFunc("/", httpx.NotFound)
	var drains []func()
	for _, fn := range m.Functions {
		f, ok := Lookup(fn.Name)
		if !ok {
			_ = ln.Close()
			return nil, fmt.Errorf("devserver: function %q is in the manifest but not in devserver.Functions", fn.Name)
		}
		if fn.Kind == manifest.KindScheduled {
			s.Jobs = append(s.Jobs, fn.Name)
		}
		if fn.Kind == manifest.KindScheduled && fn.Has(manifest.NeedJobsPostgres) && o.JobsDatabaseURL == "" {
			mux.Handle("POST "+JobPath(fn.Name), http.HandlerFunc(noJobsDatabase))
			continue
		}
		// Each function starts as deployed: from its configuration alone,
		// with clients of its own.
		h, e, err := f.Start(ctx, s.Lookuper(), o.Log)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("devserver: %w", err)
		}
		switch {
		case e != nil:
			s.closers = append(s.closers, e.Close)
			mux.Handle("POST "+PushPath(fn.Name), e.Push())
		case fn.Kind == manifest.KindScheduled:
			s.closers = append(s.closers, h.Close)
			mux.Handle("POST "+JobPath(fn.Name), h.Handler)
		default:
			s.closers = append(s.closers, h.Close)
			if h.Drain != nil {
				drains = append(drains, h.Drain)
			}
			for _, p := range routePaths(fn.Routes) {
				mux.Handle(p, h.Handler)
			}
		}
	}
	// No WriteTimeout or IdleTimeout: an SSE stream (GET /v1/events) writes
	// for up to livestream's MaxAge. Shutdown ends the streams first, since
	// it would otherwise wait for them.
	s.srv = &http.Server{Handler: httpx.Wrap(o.Log, mux), ReadHeaderTimeout: 10 * time.Second}
	for _, d := range drains {
		s.srv.RegisterOnShutdown(d)
	}
	go func() { _ = s.srv.Serve(ln) }()

	if o.PushSubscriptions {
		if err := s.subscribe(ctx, m, o.ProjectID); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Lookuper looks up the functions' configuration (Env).
func (s *Server) Lookuper() boot.Lookuper { return config.MapLookuper(s.Env) }

// PushPath is where the emulator pushes the events of an event function.
func PushPath(name string) string { return "/_push/" + name }

// JobPath is where a scheduled function is called (by hand, or a test)
// instead of by Cloud Scheduler.
func JobPath(name string) string { return "/_jobs/" + name }

func noJobsDatabase(w http.ResponseWriter, r *http.Request) {
	httpx.WriteError(w, r, apperr.Unavailable(errors.New("dev server started without Options.JobsDatabaseURL"), "jobs database"))
}

// subscribe creates every topic the service uses and one push subscription
// per event function, pointing at this server.
func (s *Server) subscribe(ctx context.Context, m *manifest.Manifest, projectID string) error {
	if os.Getenv("PUBSUB_EMULATOR_HOST") == "" {
		return errors.New("devserver: PUBSUB_EMULATOR_HOST is not set; push subscriptions need the emulator")
	}
	topics := append(events.Emitted(), events.Consumed()...)
	if err := pubsubevents.EnsureTopics(ctx, projectID, topics...); err != nil {
		return fmt.Errorf("devserver: %w", err)
	}
	for _, fn := range m.Functions {
		if fn.Kind != "event" {
			continue
		}
		sub := "bff-" + fn.Name
		if err := pubsubevents.EnsurePushSubscription(ctx, projectID, fn.Trigger, sub, s.BaseURL+PushPath(fn.Name)); err != nil {
			return fmt.Errorf("devserver: %w", err)
		}
	}
	return nil
}

// routePaths turns "GET /v1/x" routes into the distinct mux paths; the
// function's own mux answers methods (405 with Allow for the others).
func routePaths(routes []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range routes {
		_, p, _ := strings.Cut(r, " ")
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Close stops the server, the fakes and every client.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.srv != nil {
		_ = s.srv.Shutdown(ctx)
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}
