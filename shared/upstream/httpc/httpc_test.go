package httpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

type doc struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func newClient(t *testing.T, base string, timeout time.Duration, opts ...httpc.Option) *httpc.Client {
	t.Helper()
	c, err := httpc.New("test-service", base, timeout, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStatusMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		body     string
		want     apperr.Code // "" = success
		notFound bool
	}{
		{"200", 200, `{"name":"x","count":2,"extra":true}`, "", false},
		{"404 problem", 404, `{"code":"MELMASTOON.TEST.PROPERTY_NOT_FOUND"}`, "", true},
		{"404 html", 404, `<html>`, "", true},
		{"500", 500, `{}`, apperr.UpstreamUnavailable, false},
		{"503", 503, `{"code":"MELMASTOON.FAKE.UNAVAILABLE"}`, apperr.UpstreamUnavailable, false},
		{"429", 429, ``, apperr.UpstreamUnavailable, false},
		{"400", 400, `{"code":"MELMASTOON.TEST.VALIDATION_FAILED"}`, apperr.Internal, false},
		{"401", 401, ``, apperr.Internal, false},
		{"302", 302, ``, apperr.Internal, false},
		{"html 200", 200, `<html>maintenance</html>`, apperr.UpstreamUnavailable, false},
		{"wrong types", 200, `{"count":"two"}`, apperr.UpstreamUnavailable, false},
		{"huge body", 200, `{"name":"` + strings.Repeat("a", 5<<20) + `"}`, apperr.UpstreamUnavailable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, serve(t, answer(tc.status, tc.body)), time.Second)
			var got doc
			err := c.GetJSON(context.Background(), "test.Get", []string{"v1", "x"}, nil, &got)
			switch {
			case tc.notFound:
				var nf *httpc.NotFoundError
				if !errors.Is(err, httpc.ErrNotFound) || !errors.As(err, &nf) || nf.Service != "test-service" || nf.Op != "test.Get" {
					t.Fatalf("err = %v, want a NotFoundError", err)
				}
				if tc.body[0] == '{' && nf.Code != "MELMASTOON.TEST.PROPERTY_NOT_FOUND" {
					t.Errorf("code %q", nf.Code)
				}
			case tc.want == "":
				if err != nil || got != (doc{Name: "x", Count: 2}) {
					t.Fatalf("got %+v, %v", got, err)
				}
			default:
				apperrtest.WantCode(t, err, tc.want)
				if tc.want == apperr.UpstreamUnavailable {
					if ae := apperr.From(err); ae.RetryAfter == 0 || !strings.Contains(ae.Detail, "test-service") {
						t.Errorf("%+v: want Retry-After and the service named", ae)
					}
				}
				if strings.Contains(apperr.From(err).Detail, "MELMASTOON.TEST") {
					t.Error("an upstream's body leaked into the client-safe detail")
				}
			}
		})
	}
}

func TestMaxResponse(t *testing.T) {
	t.Parallel()
	base := serve(t, answer(200, `{"name":"`+strings.Repeat("a", 2000)+`"}`))
	var got doc
	err := newClient(t, base, time.Second, httpc.WithMaxResponse(1000)).GetJSON(context.Background(), "op", nil, nil, &got)
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
	if err := newClient(t, base, time.Second, httpc.WithMaxResponse(4000)).GetJSON(context.Background(), "op", nil, nil, &got); err != nil {
		t.Fatalf("under the limit: %v", err)
	}
}

// recording serves answer(status, body) and returns what last reports: the
// last request it was sent.
func recording(t *testing.T, status int, body string) (base string, last func() *http.Request) {
	t.Helper()
	var (
		mu  sync.Mutex
		got *http.Request
	)
	base = serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(context.Background())
		mu.Unlock()
		answer(status, body)(w, r)
	})
	return base, func() *http.Request {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

func TestRequest(t *testing.T) {
	t.Parallel()
	base, last := recording(t, 200, `{}`)
	// A trailing slash on the base and segments that need escaping.
	c := newClient(t, base+"/root/", time.Second)
	ctx := httpx.WithRequestID(context.Background(), "req_0123456789")
	ctx = logging.WithTrace(ctx, logging.Trace{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true})
	var d doc
	if err := c.GetJSON(ctx, "op", []string{"v1", "a b", "c"}, url.Values{"date": {"2026-11-23"}, "q": {"x&y"}}, &d); err != nil {
		t.Fatal(err)
	}
	got := last()
	want := map[string]string{
		"method":       http.MethodGet,
		"path":         "/root/v1/a b/c",
		"query":        "date=2026-11-23&q=x%26y",
		"Accept":       "application/json",
		"User-Agent":   "melmastoon-bff-backoffice",
		"X-Request-Id": "req_0123456789",
		"traceparent":  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	have := map[string]string{"method": got.Method, "path": got.URL.Path, "query": got.URL.RawQuery}
	for _, h := range []string{"Accept", "User-Agent", "X-Request-Id", "traceparent"} {
		have[h] = got.Header.Get(h)
	}
	if d := cmp.Diff(want, have); d != "" {
		t.Fatalf("request (-want +got):\n%s", d)
	}
}

func TestNoTraceNoHeaders(t *testing.T) {
	t.Parallel()
	base, last := recording(t, 200, `{}`)
	var d doc
	if err := newClient(t, base, time.Second).GetJSON(context.Background(), "op", nil, nil, &d); err != nil {
		t.Fatal(err)
	}
	h := last().Header
	if h.Get("X-Request-Id") != "" || h.Get("traceparent") != "" {
		t.Fatalf("headers without a request id or trace: %v", h)
	}
}

// The earlier of the caller's deadline and the client's timeout ends a
// call; a generous bound only checks that it did end.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	cases := []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration // 0 = no deadline
	}{
		{"caller's deadline is shorter", 30 * time.Second, 100 * time.Millisecond},
		{"client's timeout is shorter", 100 * time.Millisecond, 30 * time.Second},
		{"no caller deadline", 100 * time.Millisecond, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, serve(t, hang), tc.timeout)
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			start := time.Now()
			var d doc
			err := c.GetJSON(ctx, "op", nil, nil, &d)
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("returned after %v", el)
			}
			if !apperr.Is(err, apperr.UpstreamUnavailable) || !strings.Contains(err.Error(), "timeout") {
				t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE naming a timeout", err)
			}
		})
	}
	t.Run("canceled caller", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, serve(t, answer(200, `{}`)), time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var d doc
		err := c.GetJSON(ctx, "op", nil, nil, &d)
		apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
	})
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	var d doc
	err := newClient(t, srv.URL, time.Second).GetJSON(context.Background(), "op", nil, nil, &d)
	apperrtest.WantCode(t, err, apperr.UpstreamUnavailable)
}

func TestWithHTTPClient(t *testing.T) {
	t.Parallel()
	used := false
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	var d doc
	if err := newClient(t, serve(t, answer(200, `{}`)), time.Second, httpc.WithHTTPClient(hc), httpc.WithHTTPClient(nil)).GetJSON(context.Background(), "op", nil, nil, &d); err != nil || !used {
		t.Fatalf("err %v, custom client used: %v", err, used)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url     string
		timeout time.Duration
	}{
		{"", time.Second}, {"service:80", time.Second}, {"grpc://x", time.Second}, {"http://", time.Second},
		{"http://x", 0}, {"http://x", -time.Second},
	} {
		if _, err := httpc.New("s", c.url, c.timeout); err == nil {
			t.Errorf("New(%q, %v) succeeded", c.url, c.timeout)
		}
	}
	if err := httpc.ValidateURL("X_URL", "ftp://x"); err == nil || !strings.Contains(err.Error(), "X_URL") {
		t.Errorf("ValidateURL: %v, want the variable named", err)
	}
	if err := httpc.ValidateTimeout("X_TIMEOUT", 0); err == nil || !strings.Contains(err.Error(), "X_TIMEOUT") {
		t.Errorf("ValidateTimeout: %v, want the variable named", err)
	}
}

func TestTraceparent(t *testing.T) {
	t.Parallel()
	const tid = "4BF92F3577B34DA6A3CE929D0E0E4736"
	cases := []struct {
		in   logging.Trace
		want string // "*" = any well-formed
		ok   bool
	}{
		{logging.Trace{TraceID: tid, SpanID: "00f067aa0ba902b7", Sampled: true}, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{logging.Trace{TraceID: tid, SpanID: "1"}, "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000001-00", true},
		{logging.Trace{TraceID: tid}, "*", true},
		{logging.Trace{TraceID: strings.Repeat("0", 32), SpanID: "1"}, "", false},
		{logging.Trace{TraceID: "xyz", SpanID: "1"}, "", false},
	}
	for _, tc := range cases {
		got, ok := httpc.Traceparent(tc.in)
		if ok != tc.ok || (tc.want == "*" && len(got) != 55) || (tc.want != "*" && got != tc.want) {
			t.Errorf("Traceparent(%+v) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPostOnce(t *testing.T) {
	t.Parallel()
	base, last := recording(t, http.StatusCreated, `{"name":"posted","count":1}`)
	var d doc
	if err := newClient(t, base, time.Second).PostOnce(context.Background(), "test.Post", []string{"v1", "x"}, "bff-1", map[string]int{"n": 1}, &d); err != nil || d != (doc{Name: "posted", Count: 1}) {
		t.Fatalf("PostOnce = %+v, %v", d, err)
	}
	if got := last(); got.Method != http.MethodPost || got.URL.Path != "/v1/x" || got.Header.Get("Idempotency-Key") != "bff-1" || got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %v", got.Method, got.URL.Path, got.Header)
	}
}

// Refused tells a refusal of a write (its status and bounded code) from
// every other outcome.
func TestRefused(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("C", 200)
	cases := []struct {
		name   string
		status int
		body   string
		ok     bool
		code   string
	}{
		{"409", 409, `{"code":"MELMASTOON.TEST.INVALID_STATE"}`, true, "MELMASTOON.TEST.INVALID_STATE"},
		{"422", 422, `{"code":"MELMASTOON.TEST.VALIDATION_FAILED"}`, true, "MELMASTOON.TEST.VALIDATION_FAILED"},
		{"403 without a code", 403, `<html>`, true, ""},
		{"code cut", 422, `{"code":"` + long + `"}`, true, long[:128]},
		{"201", 201, `{}`, false, ""},
		{"404", 404, `{"code":"MELMASTOON.TEST.NOT_FOUND"}`, false, ""},
		{"429", 429, ``, false, ""},
		{"503", 503, `{"code":"MELMASTOON.TEST.UNAVAILABLE"}`, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := newClient(t, serve(t, answer(tc.status, tc.body)), time.Second).PostOnce(context.Background(), "test.Post", []string{"v1", "x"}, "bff-1", struct{}{}, nil)
			status, code, ok := httpc.Refused(err)
			switch {
			case ok != tc.ok:
				t.Fatalf("Refused(%v): ok = %v, want %v", err, ok, tc.ok)
			case ok && (status != tc.status || code != tc.code):
				t.Fatalf("Refused(%v) = %d %q, want %d %q", err, status, code, tc.status, tc.code)
			case !ok && (status != 0 || code != ""):
				t.Fatalf("Refused(%v) = %d %q with ok false", err, status, code)
			}
		})
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{"": false, "bff-1": true, strings.Repeat("k", 128): true, strings.Repeat("k", 129): false} {
		if got := httpc.ValidRequestID(id); got != want {
			t.Errorf("ValidRequestID(%d bytes) = %v, want %v", len(id), got, want)
		}
	}
}
