// Package devserver runs every function of the service in one process, the
// way `make dev` and the end-to-end tests need it: the fakes of upstream
// services on their own ports, the gate built from the same configuration a
// deployed function reads, each HTTP function mounted on its routes and
// each event function behind a Pub/Sub emulator push subscription.
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
	"github.com/melmastoon/bff-backoffice/infra/fakes/fleet"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	faketenant "github.com/melmastoon/bff-backoffice/infra/fakes/tenant"
	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
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
	Log             *slog.Logger
}

// Server is a running dev server.
type Server struct {
	BaseURL   string
	IAM       *iam.IAM
	Tenant    *faketenant.Service
	Fleet     *fleet.Fleet // the property-scoped upstreams (reservation, …)
	Demo      *demo.Dataset
	Upstreams map[string]string
	Gate      *gate.Gate
	Resources *setup.Resources
	Consumer  *setup.Consumer
	Views     *views.Service
	Env       map[string]string // the configuration the functions were built from

	srv     *http.Server
	fakes   []*fakes.Server
	closers []func()
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
	var fopts []fakes.Option
	if o.UpstreamLatency[1] > 0 {
		fopts = append(fopts, fakes.WithLatency(o.UpstreamLatency[0], o.UpstreamLatency[1]))
	}
	s.IAM, err = iam.New(iam.Config{KeysDir: o.RepoRoot + "/" + iam.DefaultKeysDir, Options: fopts})
	if err != nil {
		return nil, fmt.Errorf("devserver: iam fake: %w", err)
	}
	s.Tenant = faketenant.New(ds, fopts...)
	for name, f := range map[string]*fakes.Fake{"iam": s.IAM.Fake(), "tenant": s.Tenant.Fake()} {
		fs, err := fakes.Listen("127.0.0.1:0", f)
		if err != nil {
			return nil, fmt.Errorf("devserver: %w", err)
		}
		s.fakes = append(s.fakes, fs)
		s.Upstreams[name] = fs.URL
	}
	if s.Fleet, err = fleet.Start(ds, fopts...); err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Fleet.Close(ctx)
	})
	maps.Copy(s.Upstreams, s.Fleet.URLs)

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
	}
	maps.Copy(s.Env, s.Fleet.Env()) // RESERVATION_SERVICE_URL, …
	lookup := config.MapLookuper(s.Env)
	g, res, err := setup.Gate(ctx, lookup, o.Log)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("devserver: %w", err)
	}
	s.Gate, s.Resources = g, res
	s.closers = append(s.closers, res.Close)
	cons, err := setup.ConsumerWith(ctx, lookup, o.Log)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("devserver: %w", err)
	}
	s.Consumer = cons
	s.closers = append(s.closers, cons.Close)
	s.Views, err = setup.Views(ctx, lookup, o.Log, res, setup.AllUpstreams...)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("devserver: %w", err)
	}
	deps := Deps{Gate: g, Resources: res, Consumer: cons, Views: s.Views}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", httpx.Health)
	mux.HandleFunc("/", httpx.NotFound)
	for _, fn := range m.Functions {
		switch fn.Kind {
		case "http":
			build, ok := HTTPFunctions[fn.Name]
			if !ok {
				_ = ln.Close()
				return nil, fmt.Errorf("devserver: function %q is in the manifest but not mounted", fn.Name)
			}
			h := build(deps)
			for _, p := range routePaths(fn.Routes) {
				mux.Handle(p, h)
			}
		case "event":
			build, ok := EventFunctions[fn.Name]
			if !ok {
				_ = ln.Close()
				return nil, fmt.Errorf("devserver: function %q is in the manifest but not mounted", fn.Name)
			}
			mux.Handle("POST "+PushPath(fn.Name), consume.Push(fn.Name, cons.Redis, build(deps)))
		}
	}
	s.srv = &http.Server{Handler: httpx.Wrap(o.Log, mux), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()

	if o.PushSubscriptions {
		if err := s.subscribe(ctx, m, o.ProjectID); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// PushPath is where the emulator pushes the events of an event function.
func PushPath(name string) string { return "/_push/" + name }

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
	for _, f := range s.fakes {
		_ = f.Close(ctx)
	}
}
