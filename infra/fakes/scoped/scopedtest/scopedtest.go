// Package scopedtest runs the fakes of property-scoped services in tests
// and holds the checks every upstream client must pass against its fake:
// outages and hangs become UPSTREAM_UNAVAILABLE within the caller's
// deadline, request id and trace context reach the service, 404 is the
// typed not-found error, malformed ids never leave the process.
package scopedtest

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// Fixed is the instant the demo clock is pinned to: a Monday afternoon at
// the Canadian hotels, evening in Lisbon, so some guests have checked in
// and some are still expected.
var Fixed = time.Date(2026, 11, 23, 19, 7, 0, 0, time.UTC)

// Build makes the fake under test from a generator.
type Build func(ops *demo.Ops) *scoped.Service

// Rig is one fake served over HTTP, on the Fixed clock.
type Rig struct {
	DS  *demo.Dataset
	Ops *demo.Ops
	Svc *scoped.Service
	URL string
}

// Start serves build's fake until the test ends.
func Start(t testing.TB, build Build) *Rig {
	t.Helper()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	ops := demo.NewOps(ds, func() time.Time { return Fixed })
	svc := build(ops)
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		svc.Fake().Close() // release hanging handlers before the server waits on them
		srv.Close()
	})
	return &Rig{DS: ds, Ops: ops, Svc: svc, URL: srv.URL}
}

// Snapshot is the generator's state of a property at Fixed: what the fake
// answers from.
func (r *Rig) Snapshot(t testing.TB, tenantID, propertyID string) *demo.Snapshot {
	t.Helper()
	sn, err := r.Ops.Snapshot(tenantID, propertyID)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// Call makes one call of the client under test for a property.
type Call func(ctx context.Context, tenantID, propertyID string) error

// NewClient builds the client under test against baseURL with timeout and
// returns one of its calls.
type NewClient func(t testing.TB, baseURL string, timeout time.Duration) Call

// CodeOf is the apperr code of err ("" when it has none).
func CodeOf(err error) apperr.Code {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// Failures runs the checks every client must pass against its fake; service
// is the name the client puts in UPSTREAM_UNAVAILABLE ("reservation-service").
func Failures(t *testing.T, build Build, service string, newClient NewClient) {
	t.Helper()
	unavailable := func(t *testing.T, err error) {
		t.Helper()
		if !apperr.Is(err, apperr.UpstreamUnavailable) {
			t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE", err)
		}
		if ae := apperr.From(err); ae.RetryAfter == 0 || !strings.Contains(ae.Detail, service) {
			t.Errorf("error %+v: want a Retry-After and %s named", ae, service)
		}
	}
	settled := func(t *testing.T, f *fakes.Fake) {
		t.Helper()
		// The fake's handler must not outlive the client's call.
		deadline := time.Now().Add(3 * time.Second)
		for f.InFlight() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := f.InFlight(); n != 0 {
			t.Errorf("%d requests still in flight at the fake", n)
		}
	}

	t.Run("503 is UPSTREAM_UNAVAILABLE", func(t *testing.T) {
		t.Parallel()
		r := Start(t, build)
		if err := r.Svc.Fake().SetFault(fakes.Fault{Path: "*", ErrorRate: 1}); err != nil {
			t.Fatal(err)
		}
		tn := r.DS.Tenants[0]
		unavailable(t, newClient(t, r.URL, time.Second)(context.Background(), tn.ID, tn.Properties[0].ID))
	})

	t.Run("hung upstream ends at the caller's deadline", func(t *testing.T) {
		t.Parallel()
		r := Start(t, build)
		if err := r.Svc.Fake().SetFault(fakes.Fault{Path: "/v1/", Hang: true}); err != nil {
			t.Fatal(err)
		}
		// The client's own timeout is long: only ctx can end this call.
		call := newClient(t, r.URL, 30*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		tn := r.DS.Tenants[0]
		start := time.Now()
		err := call(ctx, tn.ID, tn.Properties[0].ID)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("returned after %v with a 100ms deadline", d)
		}
		unavailable(t, err)
		settled(t, r.Svc.Fake())
	})

	t.Run("hung upstream ends at the client's timeout", func(t *testing.T) {
		t.Parallel()
		r := Start(t, build)
		if err := r.Svc.Fake().SetFault(fakes.Fault{Path: "*", Hang: true}); err != nil {
			t.Fatal(err)
		}
		call := newClient(t, r.URL, 100*time.Millisecond)
		tn := r.DS.Tenants[0]
		start := time.Now()
		err := call(context.Background(), tn.ID, tn.Properties[0].ID)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("returned after %v with a 100ms timeout", d)
		}
		unavailable(t, err)
		settled(t, r.Svc.Fake())
	})

	t.Run("connection refused is UPSTREAM_UNAVAILABLE", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(nil)
		srv.Close()
		tn := demoTenant(t)
		unavailable(t, newClient(t, srv.URL, time.Second)(context.Background(), tn.ID, tn.Properties[0].ID))
	})

	t.Run("request id and traceparent reach the upstream", func(t *testing.T) {
		t.Parallel()
		r := Start(t, build)
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		ctx := httpx.WithRequestID(context.Background(), "req_propagation-test")
		ctx = logging.WithTrace(ctx, logging.Trace{TraceID: traceID, SpanID: "00f067aa0ba902b7", Sampled: true})
		tn := r.DS.Tenants[0]
		if err := newClient(t, r.URL, time.Second)(ctx, tn.ID, tn.Properties[0].ID); err != nil {
			t.Fatal(err)
		}
		reqs := r.Svc.Requests()
		if len(reqs) == 0 {
			t.Fatal("the fake saw no request")
		}
		for _, rq := range reqs {
			if rq.RequestID != "req_propagation-test" {
				t.Errorf("%s: X-Request-Id = %q", rq.Path, rq.RequestID)
			}
			if want := "00-" + traceID + "-00f067aa0ba902b7-01"; rq.Traceparent != want {
				t.Errorf("%s: traceparent = %q, want %q", rq.Path, rq.Traceparent, want)
			}
		}
	})

	t.Run("unknown tenant or property is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		r := Start(t, build)
		call := newClient(t, r.URL, time.Second)
		harbour, casa := r.DS.Tenants[0], r.DS.Tenants[1]
		for _, c := range [][2]string{
			{ids.New(ids.Tenant), harbour.Properties[0].ID},
			{harbour.ID, ids.New(ids.Property)},
			{casa.ID, harbour.Properties[0].ID}, // another tenant's property
		} {
			err := call(context.Background(), c[0], c[1])
			var nf *httpc.NotFoundError
			if !errors.Is(err, httpc.ErrNotFound) || !errors.As(err, &nf) || !strings.HasSuffix(nf.Code, "_NOT_FOUND") || nf.Service != service {
				t.Errorf("(%s, %s): err = %v, want a NotFoundError from %s with the upstream's code", c[0], c[1], err, service)
			}
		}
	})

	t.Run("malformed ids never leave the process", func(t *testing.T) {
		t.Parallel()
		r := Start(t, build)
		call := newClient(t, r.URL, time.Second)
		good := r.DS.Tenants[0]
		for _, c := range [][2]string{
			{"acme", good.Properties[0].ID},
			{good.ID, "../../admin"},
			{good.ID, strings.ToLower(good.Properties[0].ID)},
			{good.ID, good.Operators[0].ID},
			{"", ""},
		} {
			if err := call(context.Background(), c[0], c[1]); !apperr.Is(err, apperr.ValidationFailed) {
				t.Errorf("(%q, %q): err = %v, want VALIDATION_FAILED", c[0], c[1], err)
			}
		}
		if st := r.Svc.Fake().Stats(); len(st) != 0 {
			t.Fatalf("malformed ids reached the upstream: %v", st)
		}
	})
}

func demoTenant(t testing.TB) demo.Tenant {
	t.Helper()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	return ds.Tenants[0]
}
