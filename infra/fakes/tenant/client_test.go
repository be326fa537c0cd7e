package tenant_test

// The BFF's tenant-service client (shared/tenant) against the fake over
// real HTTP. It lives here because the shared module must not import infra.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/tenant"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

type clientRig struct {
	fake   *fake.Service
	srv    *httptest.Server
	ds     *demo.Dataset
	client *tenant.Client

	mu      sync.Mutex
	headers []http.Header
}

func newClientRig(t *testing.T, timeout time.Duration) *clientRig {
	t.Helper()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	r := &clientRig{fake: fake.New(ds), ds: ds}
	// Record what the client sends, in front of the real fake.
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		r.fake.Handler().ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		r.fake.Fake().Close()
		r.srv.Close()
	})
	r.client, err = tenant.NewClient(tenant.Config{URL: r.srv.URL, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *clientRig) lastHeader() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.headers) == 0 {
		return nil
	}
	return r.headers[len(r.headers)-1]
}

func codeOf(err error) apperr.Code {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestOperatorAccess(t *testing.T) {
	t.Parallel()
	r := newClientRig(t, 800*time.Millisecond)
	harbour, casa := r.ds.Tenants[0], r.ds.Tenants[1]
	ops := map[string]demo.Operator{}
	for _, o := range harbour.Operators {
		ops[o.Name] = o
	}
	cases := []struct {
		name         string
		tenant, op   string
		want         tenant.Access
		wantNotFound bool
	}{
		{"front desk, two properties", harbour.ID, ops["Amara Okafor"].ID, tenant.Access{
			Roles: []string{tenant.RoleFrontDesk}, PropertyScope: ops["Amara Okafor"].PropertyScope, PrimaryPropertyID: harbour.Properties[0].ID,
		}, false},
		{"two roles", harbour.ID, ops["Samir Haddad"].ID, tenant.Access{
			Roles: []string{tenant.RoleFrontDesk, tenant.RoleNightAuditor}, PropertyScope: []string{harbour.Properties[1].ID}, PrimaryPropertyID: harbour.Properties[1].ID,
		}, false},
		{"no primary property", harbour.ID, ops["Kwame Mensah"].ID, tenant.Access{
			Roles: []string{tenant.RoleMaintenanceLead}, PropertyScope: ops["Kwame Mensah"].PropertyScope,
		}, false},
		{"empty scope is not an error", harbour.ID, ops["Élodie Tremblay"].ID, tenant.Access{
			Roles: []string{tenant.RoleFrontDesk}, PropertyScope: []string{},
		}, false},
		{"unknown operator", harbour.ID, ids.New(ids.Operator), tenant.Access{}, true},
		{"unknown tenant", ids.New(ids.Tenant), ops["Amara Okafor"].ID, tenant.Access{}, true},
		{"operator of another tenant", casa.ID, ops["Amara Okafor"].ID, tenant.Access{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.client.OperatorAccess(context.Background(), tc.tenant, tc.op)
			if tc.wantNotFound {
				var nf *tenant.NotFoundError
				if !errors.Is(err, tenant.ErrNotFound) || !errors.As(err, &nf) || !strings.HasSuffix(nf.Code, "_NOT_FOUND") {
					t.Fatalf("err = %v, want a NotFoundError with tenant-service's code", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Roles, tc.want.Roles) || !slices.Equal(got.PropertyScope, tc.want.PropertyScope) ||
				got.PrimaryPropertyID != tc.want.PrimaryPropertyID || got.PropertyScope == nil {
				t.Fatalf("access = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestOperatorAccessRejectsMalformedIDs(t *testing.T) {
	t.Parallel()
	r := newClientRig(t, time.Second)
	good := r.ds.Tenants[0]
	for _, c := range [][2]string{
		{"acme", good.Operators[0].ID},
		{good.ID, "../../admin"},
		{good.ID, good.Operators[0].Devices[0].ID},
		{"", ""},
	} {
		if _, err := r.client.OperatorAccess(context.Background(), c[0], c[1]); codeOf(err) != apperr.ValidationFailed {
			t.Errorf("OperatorAccess(%q, %q) = %v, want VALIDATION_FAILED", c[0], c[1], err)
		}
	}
	if n := len(r.fake.Fake().Stats()); n != 0 {
		t.Fatalf("malformed ids reached tenant-service: %v", r.fake.Fake().Stats())
	}
}

func TestOperatorAccessSanitizes(t *testing.T) {
	t.Parallel()
	r := newClientRig(t, time.Second)
	tid, oid := r.ds.Tenants[0].ID, ids.New(ids.Operator)
	good1, good2 := ids.New(ids.Property), ids.New(ids.Property)
	r.fake.SetAccess(tid, oid, fake.AccessDoc{
		TenantID: tid, OperatorID: oid,
		Roles:             []string{"front_desk", "concierge", "manager", "front_desk", ""},
		PropertyScope:     []string{good1, "prp_123", "garbage", good2, good1, ids.New(ids.Tenant)},
		PrimaryPropertyID: "prp_123",
	})
	var logs bytes.Buffer
	ctx := logging.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	got, err := r.client.OperatorAccess(ctx, tid, oid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Roles, []string{"front_desk", "manager"}) {
		t.Errorf("roles = %v", got.Roles)
	}
	if !slices.Equal(got.PropertyScope, []string{good1, good2}) {
		t.Errorf("scope = %v", got.PropertyScope)
	}
	if got.PrimaryPropertyID != "" {
		t.Errorf("primary = %q, want dropped", got.PrimaryPropertyID)
	}
	for _, want := range []string{"unknown role", `"role":"concierge"`, "malformed property id", `"propertyId":"garbage"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs do not mention %s:\n%s", want, logs.String())
		}
	}

	// An answer about someone else is never used.
	other := ids.New(ids.Operator)
	r.fake.SetAccess(tid, other, fake.AccessDoc{TenantID: tid, OperatorID: oid, Roles: []string{"admin"}, PropertyScope: []string{good1}})
	if _, err := r.client.OperatorAccess(context.Background(), tid, other); codeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("answer for another operator: %v, want UPSTREAM_UNAVAILABLE", err)
	}
}

func TestOperatorAccessPropagatesRequestAndTrace(t *testing.T) {
	t.Parallel()
	r := newClientRig(t, time.Second)
	tn := r.ds.Tenants[0]
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	cases := []struct {
		name  string
		trace logging.Trace
		want  string // traceparent; "" = no header
	}{
		{"traceparent in", logging.Trace{TraceID: traceID, SpanID: "00f067aa0ba902b7", Sampled: true}, "00-" + traceID + "-00f067aa0ba902b7-01"},
		{"cloud trace decimal span", logging.Trace{TraceID: traceID, SpanID: "12345678901234567890"}, "00-" + traceID + "-ab54a98ceb1f0ad2-00"},
		{"no span", logging.Trace{TraceID: traceID, Sampled: true}, "00-" + traceID + "-"},
		{"no trace", logging.Trace{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := httpx.WithRequestID(context.Background(), "req_"+tc.name)
			if tc.trace.TraceID != "" {
				ctx = logging.WithTrace(ctx, tc.trace)
			}
			if _, err := r.client.OperatorAccess(ctx, tn.ID, tn.Operators[0].ID); err != nil {
				t.Fatal(err)
			}
			h := r.lastHeader()
			if got := h.Get("X-Request-Id"); got != "req_"+tc.name {
				t.Errorf("X-Request-Id = %q", got)
			}
			got := h.Get("traceparent")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("traceparent = %q, want none", got)
			case tc.want != "" && !strings.HasPrefix(got, tc.want):
				t.Errorf("traceparent = %q, want %q…", got, tc.want)
			case tc.want != "" && len(got) != 55:
				t.Errorf("traceparent %q is not 55 characters", got)
			}
		})
	}
}

func TestOperatorAccessUpstreamFailures(t *testing.T) {
	t.Parallel()
	const timeout = 150 * time.Millisecond
	cases := []struct {
		name  string
		fault fakes.Fault
	}{
		{"5xx", fakes.Fault{Path: "/v1/tenants", ErrorRate: 1}},
		{"slower than the timeout", fakes.Fault{Path: "*", LatencyMs: 2000}},
		{"hung", fakes.Fault{Path: "/v1/", Hang: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newClientRig(t, timeout)
			if err := r.fake.Fake().SetFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			tn := r.ds.Tenants[0]
			start := time.Now()
			_, err := r.client.OperatorAccess(context.Background(), tn.ID, tn.Operators[0].ID)
			if codeOf(err) != apperr.UpstreamUnavailable {
				t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE", err)
			}
			if ae := apperr.From(err); ae.RetryAfter == 0 || !strings.Contains(ae.Detail, "tenant-service") {
				t.Errorf("error %+v: want a Retry-After and tenant-service named", ae)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("took %v with a %v timeout", d, timeout)
			}
			// The fake's handler must not outlive the client's call.
			deadline := time.Now().Add(3 * time.Second)
			for r.fake.Fake().InFlight() != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := r.fake.Fake().InFlight(); n != 0 {
				t.Errorf("%d requests still in flight at the fake", n)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, err := tenant.NewClient(tenant.Config{URL: srv.URL, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.OperatorAccess(context.Background(), ids.New(ids.Tenant), ids.New(ids.Operator))
		if codeOf(err) != apperr.UpstreamUnavailable {
			t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE", err)
		}
	})
}

// Answers the fake never gives but a broken deployment might.
func TestOperatorAccessUnexpectedAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		want   apperr.Code
	}{
		{"html 200", 200, "<html>maintenance</html>", apperr.UpstreamUnavailable},
		{"429", 429, `{}`, apperr.UpstreamUnavailable},
		{"403", 403, `{"code":"MELMASTOON.TENANT.FORBIDDEN"}`, apperr.Internal},
		{"huge body", 200, `{"roles":["` + strings.Repeat("a", 2<<20) + `"]}`, apperr.UpstreamUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			c, err := tenant.NewClient(tenant.Config{URL: srv.URL, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.OperatorAccess(context.Background(), ids.New(ids.Tenant), ids.New(ids.Operator)); codeOf(err) != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestOperatorAccessConcurrently(t *testing.T) {
	t.Parallel()
	r := newClientRig(t, 2*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 16 {
		wg.Go(func() {
			for i := range 20 {
				tn := r.ds.Tenants[(w+i)%2]
				op := tn.Operators[i%len(tn.Operators)]
				got, err := r.client.OperatorAccess(context.Background(), tn.ID, op.ID)
				if err != nil || !slices.Equal(got.Roles, op.Roles) || !slices.Equal(got.PropertyScope, op.PropertyScope) {
					select {
					case errs <- fmt.Errorf("%s/%s: %+v, %v", tn.ID, op.ID, got, err):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var total int64
	for _, n := range r.fake.Fake().Stats() {
		total += n
	}
	if total != 16*20 {
		t.Fatalf("fake counted %d requests, want %d", total, 16*20)
	}
}
