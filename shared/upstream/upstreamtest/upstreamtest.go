// Package upstreamtest holds what the upstream clients' tests share: a
// server that answers one canned body, a client of it built from its
// configuration, the run of a table of answers a client must refuse, the
// comparison of timestamps in cleaned answers, and the checks every
// client's Config must pass. Test-only.
package upstreamtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// Context is a context whose logger writes to the test's log: a client's
// warnings about cleaned answers show only when the test fails or runs with
// -v (shared/upstream/wire tests the warning itself).
func Context(t testing.TB) context.Context { return logtest.Context(context.Background(), t) }

// IDs returns a fresh tenant id and property id, the two every
// property-scoped call starts with.
func IDs() (tenantID, propertyID string) { return ids.New(ids.Tenant), ids.New(ids.Property) }

// SameInstant is the cmp option comparing cleaned answers: two
// jsontime.Times are equal when they are the same instant.
var SameInstant = cmp.Comparer(func(a, b jsontime.Time) bool { return a.Equal(b.Time) })

// Server answers the same JSON body to every request and remembers the
// queries it was sent.
type Server struct {
	URL string

	mu      sync.Mutex
	queries []url.Values
}

// Serve starts a Server answering body until the test ends.
func Serve(t testing.TB, body string) *Server {
	t.Helper()
	s := &Server{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.queries = append(s.queries, r.URL.Query())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Queries returns the queries of the requests served so far, in order.
func (s *Server) Queries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.queries...)
}

// NewClient is the shape of every client package's NewClient.
type NewClient[C, T any] func(C, ...httpc.Option) (T, error)

// Client builds, with newClient, a client of a Server answering body. Its
// Config is loaded as a function would load it, from the variables
// env_URL and env_TIMEOUT (one second).
func Client[C, T any](t testing.TB, env, body string, newClient NewClient[C, T]) (T, *Server) {
	t.Helper()
	srv := Serve(t, body)
	var cfg C
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{
		env + "_URL": srv.URL, env + "_TIMEOUT": "1s",
	}), &cfg); err != nil {
		t.Fatal(err)
	}
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// Serving returns Client's first result as a function of the test and
// body: the serve of a client's tests.
func Serving[C, T any](env string, newClient NewClient[C, T]) func(t testing.TB, body string) T {
	return func(t testing.TB, body string) T {
		t.Helper()
		c, _ := Client(t, env, body, newClient)
		return c
	}
}

// Broken is an answer a client must refuse as UPSTREAM_UNAVAILABLE: Body
// is served, Call reads it with the client's method.
type Broken[T any] struct {
	Name string
	Body string
	Call func(T) error
}

// RefusesBroken runs each case as a parallel subtest: Call on a client of
// a Server answering Body (serve, a client's Serving) fails with
// UPSTREAM_UNAVAILABLE.
func RefusesBroken[T any](t *testing.T, serve func(testing.TB, string) T, cases []Broken[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			apperrtest.WantCode(t, tc.Call(serve(t, tc.Body)), apperr.UpstreamUnavailable)
		})
	}
}

// CheckConfig checks the rules every client's Config follows, for the
// client whose variables start with env: loading fails without env_URL,
// with a URL that is not absolute http(s) or a timeout that is not
// positive, naming the variable; newClient refuses such a Config too;
// env_TIMEOUT is read; and loaded from env_URL alone the timeout is want.
func CheckConfig[C, T any](t *testing.T, env string, want time.Duration, newClient NewClient[C, T]) {
	t.Helper()
	load := func(vars map[string]string) (C, error) {
		var cfg C
		err := config.LoadFrom(context.Background(), config.MapLookuper(vars), &cfg)
		return cfg, err
	}
	cfg, err := load(map[string]string{env + "_URL": "http://upstream.example"})
	if err != nil {
		t.Fatalf("load with only %s_URL: %v", env, err)
	}
	if got := httpcEndpoint(t, cfg).Timeout; got != want {
		t.Errorf("default %s_TIMEOUT = %v, want %v", env, got, want)
	}
	cfg, err = load(map[string]string{env + "_URL": "http://upstream.example", env + "_TIMEOUT": "250ms"})
	if got := httpcEndpoint(t, cfg).Timeout; err != nil || got != 250*time.Millisecond {
		t.Errorf("%s_TIMEOUT=250ms: %v, %v", env, got, err)
	}
	bad := []struct {
		vars  map[string]string
		names string
	}{
		{map[string]string{}, env + "_URL"},
		{map[string]string{env + "_URL": "upstream:80"}, env + "_URL"},
		{map[string]string{env + "_URL": "grpc://upstream"}, env + "_URL"},
		{map[string]string{env + "_URL": "http://upstream", env + "_TIMEOUT": "0s"}, env + "_TIMEOUT"},
		{map[string]string{env + "_URL": "http://upstream", env + "_TIMEOUT": "-1s"}, env + "_TIMEOUT"},
	}
	for _, b := range bad {
		if _, err := load(b.vars); err == nil || !strings.Contains(err.Error(), b.names) {
			t.Errorf("load %v: %v; want an error naming %s", b.vars, err, b.names)
		}
	}
	// The same Configs built in code, as tests and tools do, never reach
	// the network either.
	for _, e := range []httpc.Endpoint{{URL: "", Timeout: time.Second}, {URL: "upstream:80", Timeout: time.Second}, {URL: "http://upstream", Timeout: 0}} {
		if _, err := newClient(endpointConfig[C](t, e)); err == nil || !strings.Contains(err.Error(), env+"_") {
			t.Errorf("NewClient(%+v): %v; want an error naming %s_…", e, err, env)
		}
	}
}

// httpcEndpoint and endpointConfig convert between a client's Config and
// httpc.Endpoint as the client does; a Config that cannot is a client
// that strayed from the shared shape.
func httpcEndpoint[C any](t testing.TB, cfg C) httpc.Endpoint {
	t.Helper()
	et := reflect.TypeFor[httpc.Endpoint]()
	v := reflect.ValueOf(cfg)
	if !v.Type().ConvertibleTo(et) {
		t.Fatalf("%T does not convert to httpc.Endpoint", cfg)
	}
	return v.Convert(et).Interface().(httpc.Endpoint)
}

func endpointConfig[C any](t testing.TB, e httpc.Endpoint) C {
	t.Helper()
	ct := reflect.TypeFor[C]()
	if !reflect.TypeFor[httpc.Endpoint]().ConvertibleTo(ct) {
		t.Fatalf("httpc.Endpoint does not convert to %v", ct)
	}
	return reflect.ValueOf(e).Convert(ct).Interface().(C)
}
