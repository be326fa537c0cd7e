package boot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// Outside its own FUNCTION_TARGET (a test binary, a local run hosting
// several functions) Lazy builds on first use, exactly once however many
// callers race, and hands every caller the same result — the error too.
func TestLazyBuildsOnceOnFirstUse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
	}{{"ok", nil}, {"failing", errors.New("no REDIS_ADDR")}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var builds atomic.Int32
			get := boot.Lazy("NotThisProcessTarget", func(context.Context, *slog.Logger) (int, error) {
				builds.Add(1)
				return 42, c.err
			})
			if n := builds.Load(); n != 0 {
				t.Fatalf("built %d times before first use", n)
			}
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					v, err := get()
					if !errors.Is(err, c.err) || (c.err == nil && v != 42) {
						t.Errorf("get() = %d, %v; want 42, %v", v, err, c.err)
					}
				})
			}
			wg.Wait()
			if n := builds.Load(); n != 1 {
				t.Errorf("built %d times, want 1", n)
			}
		})
	}
}

// A function that cannot build answers every request 503
// UPSTREAM_UNAVAILABLE as problem+json (it never serves half-built), and
// a built one serves through the request plumbing (request id).
func TestHTTPAnswersBuildFailuresAs503(t *testing.T) {
	t.Parallel()
	broken := boot.HTTP("NotThisProcessTarget", func(context.Context, *slog.Logger) (http.Handler, error) {
		return nil, errors.New("config: DATABASE_URL is required")
	})
	w := httptest.NewRecorder()
	broken.ServeHTTP(w, httptest.NewRequest("GET", "/v1/session", nil))
	var p struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != http.StatusServiceUnavailable ||
		p.Code != string(apperr.UpstreamUnavailable) || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("broken function: %d %q %s (%v)", w.Code, w.Header().Get("Content-Type"), w.Body, err)
	}
	if strings.Contains(w.Body.String(), "DATABASE_URL") {
		t.Errorf("the build error reached the client: %s", w.Body)
	}

	ok := boot.HTTP("NotThisProcessTarget", func(context.Context, *slog.Logger) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), nil
	})
	w = httptest.NewRecorder()
	ok.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != http.StatusTeapot || w.Header().Get("X-Request-Id") == "" {
		t.Errorf("built function: %d, X-Request-Id %q", w.Code, w.Header().Get("X-Request-Id"))
	}
}

// Start refuses a Function that is neither or both kinds, and names the
// function in a start error.
func TestFunctionStartKinds(t *testing.T) {
	t.Parallel()
	startHTTP := func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
		return boot.HTTPFunc{Handler: http.NotFoundHandler()}, nil
	}
	startEvent := func(context.Context, boot.Lookuper, *slog.Logger) (boot.EventFunc, error) {
		return boot.EventFunc{Name: "x"}, nil
	}
	failing := func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
		return boot.HTTPFunc{}, errors.New("boom")
	}
	l := config.MapLookuper(nil)
	log := logtest.TestLogger(t)
	for _, c := range []struct {
		name            string
		f               boot.Function
		wantHTTP, wantE bool
	}{
		{"http", boot.Function{Name: "a", StartHTTP: startHTTP}, true, false},
		{"event", boot.Function{Name: "b", StartEvent: startEvent}, false, true},
		{"neither", boot.Function{Name: "c"}, false, false},
		{"both", boot.Function{Name: "d", StartHTTP: startHTTP, StartEvent: startEvent}, false, false},
		{"failing", boot.Function{Name: "e", StartHTTP: failing}, false, false},
	} {
		h, e, err := c.f.Start(context.Background(), l, log)
		if (h != nil) != c.wantHTTP || (e != nil) != c.wantE || (err == nil) != (c.wantHTTP || c.wantE) {
			t.Errorf("%s: Start = %v, %v, %v", c.name, h, e, err)
		}
		if err != nil && !strings.Contains(err.Error(), "("+c.f.Name+")") {
			t.Errorf("%s: error %q does not name the function", c.name, err)
		}
	}
}

// Consumer opens Redis from the configuration it is given and refuses to
// start without one; the started function handles an event once per id as
// a CloudEvent (deployed) and as a push (dev server) alike.
func TestConsumer(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	log := logtest.TestLogger(t)
	var calls atomic.Int32
	start := boot.Consumer("boot-test", func(*redisx.Client) consume.Func {
		return func(context.Context, events.Envelope) error { calls.Add(1); return nil }
	})
	if _, err := start(context.Background(), config.MapLookuper(map[string]string{}), log); err == nil {
		t.Error("Consumer started without REDIS_ADDR")
	}
	e, err := start(context.Background(), config.MapLookuper(map[string]string{
		"REDIS_ADDR": rdb.Options().Addr, "REDIS_KEY_PREFIX": rdb.Prefix,
	}), log)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	env, err := events.New(events.ReservationChanged, ids.New(ids.Tenant), "", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(env)
	ce := event.New()
	ce.SetID("1")
	ce.SetSource("//pubsub.googleapis.com/projects/p/topics/" + env.Subject)
	ce.SetType(consume.EventType)
	msg := map[string]any{"message": map[string]any{"data": data, "messageId": "1", "publishTime": time.Now().UTC().Format(time.RFC3339Nano)}}
	if err := ce.SetData(event.ApplicationJSON, msg); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.CloudEvent()(context.Background(), ce); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := json.Marshal(msg)
	w := httptest.NewRecorder()
	e.Push().ServeHTTP(w, httptest.NewRequest("POST", "/_push/boot-test", bytes.NewReader(body)))
	if w.Code != http.StatusNoContent {
		t.Errorf("push = %d, want 204", w.Code)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times for one event delivered three times, want 1", n)
	}
}
