package fakes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
)

func newServer(t *testing.T, opts ...fakes.Option) (*fakes.Fake, *httptest.Server) {
	t.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fakes.WriteJSON(w, http.StatusOK, map[string]string{"path": r.URL.Path})
	})
	f := fakes.New("test-service", ok, opts...)
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		f.Close() // release hanging handlers before the server waits on them
		srv.Close()
	})
	return f, srv
}

func do(t *testing.T, c *http.Client, method, url, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func stats(t *testing.T, base string) map[string]int64 {
	t.Helper()
	code, b := do(t, http.DefaultClient, http.MethodGet, base+"/__stats", "")
	if code != http.StatusOK {
		t.Fatalf("GET /__stats = %d %s", code, b)
	}
	var got struct {
		Requests map[string]int64 `json:"requests"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("GET /__stats body %s: %v", b, err)
	}
	if got.Requests == nil {
		t.Fatalf(`GET /__stats body %s: "requests" must be an object`, b)
	}
	return got.Requests
}

func setFault(t *testing.T, base, body string) {
	t.Helper()
	if code, b := do(t, http.DefaultClient, http.MethodPost, base+"/__faults", body); code != http.StatusNoContent {
		t.Fatalf("POST /__faults %s = %d %s", body, code, b)
	}
}

func TestStatsCountAndReset(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, fakes.WithLatency(0, 0))
	if got := stats(t, srv.URL); len(got) != 0 {
		t.Fatalf("fresh stats = %v, want empty", got)
	}
	for range 3 {
		do(t, srv.Client(), http.MethodGet, srv.URL+"/v1/a", "")
	}
	do(t, srv.Client(), http.MethodPost, srv.URL+"/v1/a", `{}`)
	do(t, srv.Client(), http.MethodGet, srv.URL+"/v1/b?x=1", "")
	setFault(t, srv.URL, `{"path":"/nothing","latencyMs":0,"errorRate":0,"hang":false}`)
	do(t, srv.Client(), http.MethodGet, srv.URL+"/__faults", "")

	got := stats(t, srv.URL)
	want := map[string]int64{"GET /v1/a": 3, "POST /v1/a": 1, "GET /v1/b": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stats = %v, want %v (control endpoints are not counted)", got, want)
	}

	code, b := do(t, srv.Client(), http.MethodPost, srv.URL+"/__stats/reset", "")
	if code != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("POST /__stats/reset = %d %q, want 204 and no body", code, b)
	}
	if got := stats(t, srv.URL); len(got) != 0 {
		t.Fatalf("stats after reset = %v, want empty", got)
	}
}

func TestControlEndpointErrors(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t)
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"stats wrong method", http.MethodPost, "/__stats", "", http.StatusMethodNotAllowed},
		{"reset wrong method", http.MethodGet, "/__stats/reset", "", http.StatusMethodNotAllowed},
		{"faults wrong method", http.MethodPut, "/__faults", "", http.StatusMethodNotAllowed},
		{"unknown control", http.MethodGet, "/__nope", "", http.StatusNotFound},
		{"relative path", http.MethodPost, "/__faults", `{"path":"v1"}`, http.StatusBadRequest},
		{"rate above 1", http.MethodPost, "/__faults", `{"path":"*","errorRate":1.5}`, http.StatusBadRequest},
		{"negative latency", http.MethodPost, "/__faults", `{"path":"*","latencyMs":-1}`, http.StatusBadRequest},
		{"unknown field", http.MethodPost, "/__faults", `{"path":"*","latency":5}`, http.StatusBadRequest},
		{"not json", http.MethodPost, "/__faults", `hang`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, b := do(t, srv.Client(), tc.method, srv.URL+tc.path, tc.body)
			if code != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, code, b, tc.want)
			}
		})
	}
}

func TestLatencyFaultDelaysOnlyItsPath(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, fakes.WithLatency(0, 0))
	// Long enough that the unaffected path answers well within it on a
	// loaded machine.
	const lat = 2 * time.Second
	setFault(t, srv.URL, fmt.Sprintf(`{"path":"/v1/slow","latencyMs":%d}`, lat.Milliseconds()))

	start := time.Now()
	if code, _ := do(t, srv.Client(), http.MethodGet, srv.URL+"/v1/slow/x", ""); code != http.StatusOK {
		t.Fatalf("slow path status %d", code)
	}
	if d := time.Since(start); d < lat {
		t.Fatalf("slow path answered in %v, want ≥ %v", d, lat)
	}
	start = time.Now()
	if code, _ := do(t, srv.Client(), http.MethodGet, srv.URL+"/v1/fast", ""); code != http.StatusOK {
		t.Fatalf("fast path status %d", code)
	}
	if d := time.Since(start); d >= lat {
		t.Fatalf("other path answered in %v; the fault must not apply to it", d)
	}
}

func TestErrorRate(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t)
	setFault(t, srv.URL, `{"path":"/v1/broken","errorRate":1}`)
	for range 20 {
		code, b := do(t, srv.Client(), http.MethodGet, srv.URL+"/v1/broken/thing", "")
		if code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", code)
		}
		var p struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		if err := json.Unmarshal(b, &p); err != nil || p.Status != 503 || p.Code == "" {
			t.Fatalf("503 body %s is not a problem document (%v)", b, err)
		}
	}
	if code, _ := do(t, srv.Client(), http.MethodGet, srv.URL+"/v1/fine", ""); code != http.StatusOK {
		t.Fatalf("unfaulted path status %d, want 200", code)
	}
}

func TestLongestPrefixWins(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t)
	setFault(t, srv.URL, `{"path":"*","errorRate":1}`)
	setFault(t, srv.URL, `{"path":"/v1/tenants","errorRate":1}`)
	setFault(t, srv.URL, `{"path":"/v1/tenants/ok","errorRate":0}`)
	cases := map[string]int{
		"/v1/tenants/ok/x":  http.StatusOK,
		"/v1/tenants/bad":   http.StatusServiceUnavailable,
		"/elsewhere":        http.StatusServiceUnavailable,
		"/v1/tenants/ok":    http.StatusOK,
		"/v1/tenantsystem":  http.StatusServiceUnavailable, // plain string prefix
		"/v1/tenants/o":     http.StatusServiceUnavailable,
		"/v1/tenants/ok/y/": http.StatusOK,
	}
	for path, want := range cases {
		if code, _ := do(t, srv.Client(), http.MethodGet, srv.URL+path, ""); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	// Posting the same path again replaces that fault.
	setFault(t, srv.URL, `{"path":"*","errorRate":0}`)
	if code, _ := do(t, srv.Client(), http.MethodGet, srv.URL+"/elsewhere", ""); code != http.StatusOK {
		t.Fatalf("after replacing the * fault: %d, want 200", code)
	}
}

func TestDeleteClearsFaults(t *testing.T) {
	t.Parallel()
	f, srv := newServer(t)
	setFault(t, srv.URL, `{"path":"*","errorRate":1}`)
	setFault(t, srv.URL, `{"path":"/v1","latencyMs":5000}`)
	if n := len(f.Faults()); n != 2 {
		t.Fatalf("%d faults installed, want 2", n)
	}
	if code, b := do(t, srv.Client(), http.MethodDelete, srv.URL+"/__faults", ""); code != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("DELETE /__faults = %d %q, want 204", code, b)
	}
	start := time.Now()
	if code, _ := do(t, srv.Client(), http.MethodGet, srv.URL+"/v1/x", ""); code != http.StatusOK {
		t.Fatalf("after DELETE: %d, want 200", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("after DELETE the latency fault still applies (%v)", d)
	}
}

func TestHangUntilClientGivesUp(t *testing.T) {
	t.Parallel()
	f, srv := newServer(t)
	setFault(t, srv.URL, `{"path":"/v1/stuck","hang":true}`)

	client := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := client.Get(srv.URL + "/v1/stuck")
	if err == nil {
		t.Fatal("hung request answered")
	}
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("gave up after %v, before the client's timeout", d)
	}
	// The handler must notice the client left and return.
	deadline := time.Now().Add(5 * time.Second)
	for f.InFlight() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d handler(s) still running after the client left", f.InFlight())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := f.Count(http.MethodGet, "/v1/stuck"); n != 1 {
		t.Fatalf("hung request counted %d times, want 1", n)
	}
	// A context deadline is a client giving up too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/stuck/deeper", nil)
	if _, err := srv.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	t.Parallel()
	f, srv := newServer(t)
	setFault(t, srv.URL, `{"path":"*","hang":true}`)
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/v1/anything") // no timeout at all
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	deadline := time.Now().Add(5 * time.Second)
	for f.InFlight() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	f.Close()
	select {
	case code := <-got:
		if code != http.StatusServiceUnavailable {
			t.Fatalf("released request got %d, want 503", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hanging request")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f, srv := newServer(t)
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				resp, err := srv.Client().Get(fmt.Sprintf("%s/v1/w%d", srv.URL, w%4))
				if err != nil {
					errs <- err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch i % 5 {
				case 0:
					_ = f.SetFault(fakes.Fault{Path: fmt.Sprintf("/v1/none%d", w), LatencyMs: 0})
				case 1:
					_ = f.Stats()
				case 2:
					_ = f.Faults()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var total int64
	for k, n := range stats(t, srv.URL) {
		if !strings.HasPrefix(k, "GET /v1/w") {
			t.Fatalf("unexpected key %q", k)
		}
		total += n
	}
	if total != workers*each {
		t.Fatalf("counted %d requests, want %d", total, workers*each)
	}
}

func TestListenAndClose(t *testing.T) {
	t.Parallel()
	f := fakes.New("listen-test", http.NotFoundHandler())
	s, err := fakes.Listen("127.0.0.1:0", f)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := do(t, http.DefaultClient, http.MethodGet, s.URL+"/__stats", ""); code != http.StatusOK {
		t.Fatalf("GET /__stats = %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
