package consume

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func envelope(t testing.TB) events.Envelope {
	t.Helper()
	e, err := events.New(events.IAMSessionRevoked, ids.New(ids.Tenant), "", map[string]string{"operatorId": ids.New(ids.Operator)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func encode(t testing.TB, e events.Envelope) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pushBody is what Pub/Sub posts to a push endpoint and what Eventarc puts in
// a messagePublished CloudEvent's data.
func pushBody(t testing.TB, data []byte, attrs map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"subscription": "projects/p/subscriptions/s",
		"message": map[string]any{
			"data":        data, // []byte marshals as base64
			"attributes":  attrs,
			"messageId":   "123",
			"publishTime": "2026-11-22T07:00:00.123Z",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attrsOf(e events.Envelope) map[string]string {
	return map[string]string{"subject": e.Subject, "tenantId": e.TenantID}
}

func cloudEvent(t testing.TB, body []byte) event.Event {
	t.Helper()
	ce := event.New()
	ce.SetID("123")
	ce.SetType(EventType)
	ce.SetSource("//pubsub.googleapis.com/projects/p/topics/" + events.IAMSessionRevoked)
	if err := ce.SetData(event.ApplicationJSON, body); err != nil {
		t.Fatal(err)
	}
	return ce
}

// delivery is a new envelope and the CloudEvent Eventarc delivers for it,
// published with its attributes.
func delivery(t testing.TB) (events.Envelope, event.Event) {
	t.Helper()
	e := envelope(t)
	return e, cloudEvent(t, pushBody(t, encode(t, e), attrsOf(e)))
}

// recorder counts calls to a Func and keeps the envelopes it saw.
type recorder struct {
	mu    sync.Mutex
	calls int
	seen  []events.Envelope
	err   func(call int) error // result of the n-th call (1-based); nil means success
}

func (r *recorder) fn(_ context.Context, ev events.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.seen = append(r.seen, ev)
	if r.err != nil {
		return r.err(r.calls)
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// wantCalls fails t, going on, unless fn has run n times; when says under
// what circumstances, for the failure.
func (r *recorder) wantCalls(t *testing.T, n int, when string) {
	t.Helper()
	if got := r.count(); got != n {
		t.Errorf("fn ran %d times %s, want %d", got, when, n)
	}
}

func logCtx(t testing.TB) context.Context {
	return logtest.Context(context.Background(), t)
}

// deliver hands ce to h with the test's logger and fails the test if h
// returns an error, which would have Pub/Sub deliver it again; what names
// the delivery.
func deliver(t testing.TB, h func(context.Context, event.Event) error, ce event.Event, what string) {
	t.Helper()
	if err := h(logCtx(t), ce); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func markerTTL(t testing.TB, rdb *redisx.Client, name, id string) time.Duration {
	t.Helper()
	ttl, err := rdb.TTL(context.Background(), MarkerKey(rdb, name, id)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ttl // -2 when missing
}

func TestMarkerKey(t *testing.T) {
	t.Parallel()
	rdb := &redisx.Client{Prefix: "bffbo:"}
	if got, want := MarkerKey(rdb, "forcelogout", "evt_X"), "bffbo:evt:forcelogout:evt_X"; got != want {
		t.Errorf("MarkerKey = %q, want %q", got, want)
	}
}

func TestHandlerProcessesOnceThenSkips(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	rec := &recorder{}
	h := Handler("forcelogout", rdb, rec.fn)
	e, ce := delivery(t)

	deliver(t, h, ce, "first delivery")
	if rec.count() != 1 {
		t.Fatalf("fn ran %d times, want 1", rec.count())
	}
	if diff := cmp.Diff(encode(t, e), encode(t, rec.seen[0])); diff != "" {
		t.Errorf("fn got (-want, +got):\n%s", diff)
	}
	if ttl := markerTTL(t, rdb, "forcelogout", e.ID); ttl <= 7*24*time.Hour || ttl > MarkerTTL {
		t.Errorf("marker TTL = %v, want within (7d, 8d]", ttl)
	}
	for range 2 {
		deliver(t, h, ce, "redelivery")
	}
	rec.wantCalls(t, 1, "after redeliveries")
}

// Once an event is processed, any number of concurrent redeliveries of it
// run fn not once more.
func TestHandlerConcurrentDuplicatesAfterProcessing(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	rec := &recorder{}
	h := Handler("mirror", rdb, rec.fn)
	_, ce := delivery(t)
	deliver(t, h, ce, "first delivery")

	const n = 20
	errs := make(chan error, n)
	testenv.AtOnce(n, func(int) { errs <- h(logCtx(t), ce) })
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("delivery: %v", err)
		}
	}
	if got := rec.count(); got != 1 {
		t.Fatalf("fn ran %d times for one delivery and %d concurrent redeliveries, want 1", got, n)
	}
}

// Two deliveries that overlap (the second arrives while fn runs for the
// first) both run fn: the marker is written after fn succeeds, as the
// package doc says. Deliveries after that run nothing.
func TestHandlerOverlappingDeliveriesBothRun(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	calls := 0
	h := Handler("mirror", rdb, func(context.Context, events.Envelope) error {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			close(entered)
			<-release
		}
		return nil
	})
	e, ce := delivery(t)

	firstDone := make(chan error, 1)
	go func() { firstDone <- h(logCtx(t), ce) }()
	<-entered
	deliver(t, h, ce, "overlapping delivery")
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	if markerTTL(t, rdb, "mirror", e.ID) <= 0 {
		t.Fatal("no processed marker after the deliveries")
	}
	for range 3 {
		deliver(t, h, ce, "delivery after the marker")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Fatalf("fn ran %d times, want 2 (the two overlapping deliveries, none after the marker)", calls)
	}
}

func TestHandlerErrorIsReturnedAndRetried(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	boom := errors.New("upstream down")
	rec := &recorder{err: func(call int) error {
		if call == 1 {
			return boom
		}
		return nil
	}}
	h := Handler("mirror", rdb, rec.fn)
	e, ce := delivery(t)

	err := h(logCtx(t), ce)
	if !errors.Is(err, boom) {
		t.Fatalf("first delivery = %v, want the handler's error", err)
	}
	if !strings.Contains(err.Error(), e.ID) {
		t.Errorf("error %q does not name the event", err)
	}
	if ttl := markerTTL(t, rdb, "mirror", e.ID); ttl != -2 {
		t.Fatalf("marker set (TTL %v) after a failed handler", ttl)
	}
	deliver(t, h, ce, "second delivery")
	deliver(t, h, ce, "third delivery")
	rec.wantCalls(t, 2, "(fail, succeed, then skipped)")
}

func TestConsumersDeduplicateIndependently(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	a, b := &recorder{}, &recorder{}
	_, ce := delivery(t)
	for range 2 {
		deliver(t, Handler("a", rdb, a.fn), ce, "consumer a")
		deliver(t, Handler("b", rdb, b.fn), ce, "consumer b")
	}
	if a.count() != 1 || b.count() != 1 {
		t.Errorf("consumer a ran %d, b ran %d times; want 1 each", a.count(), b.count())
	}
}

func TestHandlerAcceptsDeliveryShapes(t *testing.T) {
	t.Parallel()
	e := envelope(t)
	data := base64.StdEncoding.EncodeToString(encode(t, e))
	cases := []struct {
		name string
		body string
	}{
		// What Eventarc sends: both spellings of the ids and times.
		{name: "eventarc", body: `{"subscription":"projects/p/subscriptions/eventarc-x","message":{"data":"` + data +
			`","attributes":{"subject":"` + e.Subject + `","tenantId":"` + e.TenantID + `"},"messageId":"9","message_id":"9",` +
			`"publishTime":"2026-11-22T07:00:00.123Z","publish_time":"2026-11-22T07:00:00.123Z"},"deliveryAttempt":2}`},
		// What functions-framework-go v1.9.2 makes of an emulator push:
		// no subscription, an @type, attributes kept.
		{name: "functions framework", body: `{"message":{"@type":"type.googleapis.com/google.pubusb.v1.PubsubMessage","data":"` + data +
			`","attributes":{"subject":"` + e.Subject + `"},"messageId":"9","publishTime":"2026-11-22T07:00:00.123Z"}}`},
		// Attributes are cross-checked only when present.
		{name: "no attributes", body: `{"message":{"data":"` + data + `","messageId":"9"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rdb := testenv.Redis(t)
			rec := &recorder{}
			if err := Handler("shapes", rdb, rec.fn)(logCtx(t), cloudEvent(t, []byte(tc.body))); err != nil {
				t.Fatal(err)
			}
			if rec.count() != 1 || rec.seen[0].ID != e.ID {
				t.Fatalf("fn calls = %d, want 1 with %s", rec.count(), e.ID)
			}
		})
	}
}

// syncBuffer lets the test read what a logger wrote.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type poisonCase struct {
	name string
	body []byte
}

func poisonCases(t *testing.T) []poisonCase {
	e := envelope(t)
	good := encode(t, e)
	other := envelope(t)
	unknown := append(good[:len(good)-1:len(good)-1], []byte(`,"extra":true}`)...)
	invalid := bytes.Replace(good, []byte(e.TenantID), []byte("ten_bad"), 1)
	return []poisonCase{
		{"wrapper not JSON", []byte("not json")},
		{"wrapper is an array", []byte(`[1,2]`)},
		{"no message", []byte(`{"subscription":"projects/p/subscriptions/s"}`)},
		{"data not base64", []byte(`{"message":{"data":"%%%","messageId":"1"}}`)},
		{"no data", []byte(`{"message":{"messageId":"1"}}`)},
		{"data not JSON", pushBody(t, []byte("hello"), nil)},
		{"envelope with unknown field", pushBody(t, unknown, attrsOf(e))},
		{"envelope with bad tenant", pushBody(t, invalid, nil)},
		{"subject attribute mismatch", pushBody(t, good, map[string]string{"subject": events.IAMDeviceDeleted, "tenantId": e.TenantID})},
		{"tenantId attribute mismatch", pushBody(t, good, map[string]string{"subject": e.Subject, "tenantId": other.TenantID})},
	}
}

func TestHandlerAcknowledgesPoison(t *testing.T) {
	t.Parallel()
	_, wrongType := delivery(t)
	wrongType.SetType("google.cloud.storage.object.v1.finalized")

	run := func(t *testing.T, ce event.Event) {
		rdb := testenv.Redis(t)
		rec := &recorder{}
		var logs syncBuffer
		ctx := logging.WithLogger(context.Background(), logging.New(&logs, slog.LevelDebug, ""))
		if err := Handler("mirror", rdb, rec.fn)(ctx, ce); err != nil {
			t.Fatalf("poison message returned %v, want nil (acknowledged)", err)
		}
		rec.wantCalls(t, 0, "for a poison message")
		if keys, err := rdb.Keys(context.Background(), rdb.Prefix+"*").Result(); err != nil || len(keys) != 0 {
			t.Errorf("Redis keys after poison: %v (%v)", keys, err)
		}
		if out := logs.String(); !strings.Contains(out, `"severity":"ERROR"`) || !strings.Contains(out, "poison") {
			t.Errorf("poison not logged at ERROR: %s", out)
		}
	}
	for _, tc := range poisonCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run(t, cloudEvent(t, tc.body))
		})
	}
	t.Run("wrong CloudEvent type", func(t *testing.T) {
		t.Parallel()
		run(t, wrongType)
	})
}

func TestHandlerRedisUnavailable(t *testing.T) {
	t.Parallel()
	rdb := &redisx.Client{Client: redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t), MaxRetries: -1, DialTimeout: 200 * time.Millisecond}), Prefix: "x:"}
	t.Cleanup(func() { _ = rdb.Close() })
	rec := &recorder{}
	_, ce := delivery(t)
	err := Handler("mirror", rdb, rec.fn)(logCtx(t), ce)
	if err == nil {
		t.Fatal("delivery with Redis down = nil, want an error so Pub/Sub retries")
	}
	rec.wantCalls(t, 0, "although the dedupe check failed")
}

func TestHandlerMisconfigured(t *testing.T) {
	t.Parallel()
	rdb := &redisx.Client{Prefix: "x:"}
	rec := &recorder{}
	_, ce := delivery(t)
	for name, h := range map[string]func(context.Context, event.Event) error{
		"empty name":   Handler("", rdb, rec.fn),
		"colon name":   Handler("a:b", rdb, rec.fn),
		"nil redis":    Handler("a", nil, rec.fn),
		"nil function": Handler("a", rdb, nil),
	} {
		if err := h(logCtx(t), ce); err == nil {
			t.Errorf("%s: Handler returned nil", name)
		}
	}
	rec.wantCalls(t, 0, "on a misconfigured consumer")
}

func TestPush(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	boom := errors.New("boom")
	var fail atomic.Bool
	rec := &recorder{err: func(int) error {
		if fail.Load() {
			return boom
		}
		return nil
	}}
	push := Push("mirror", rdb, rec.fn)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		push(w, r.WithContext(logtest.Context(r.Context(), t)))
	}))
	t.Cleanup(srv.Close)
	post := func(body []byte) int {
		t.Helper()
		resp, err := http.Post(srv.URL+"/projects/p/topics/t", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	e := envelope(t)
	body := pushBody(t, encode(t, e), attrsOf(e))
	fail.Store(true)
	if got := post(body); got != http.StatusInternalServerError {
		t.Errorf("handler error: status %d, want 500", got)
	}
	if markerTTL(t, rdb, "mirror", e.ID) != -2 {
		t.Error("marker set after handler error")
	}
	fail.Store(false)
	if got := post(body); got != http.StatusNoContent {
		t.Errorf("success: status %d, want 204", got)
	}
	if got := post(body); got != http.StatusNoContent {
		t.Errorf("duplicate: status %d, want 204", got)
	}
	rec.wantCalls(t, 2, "for a failed, a successful and a duplicate push")

	for _, tc := range poisonCases(t) {
		if got := post(tc.body); got != http.StatusNoContent {
			t.Errorf("poison %s: status %d, want 204", tc.name, got)
		}
	}
	rec.wantCalls(t, 2, "with poison among the deliveries")

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
}

func TestHandlerPoisonFromFn(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	rec := &recorder{err: func(int) error { return fmt.Errorf("%w: operatorId missing", ErrPoison) }}
	var logs syncBuffer
	ctx := logging.WithLogger(context.Background(), logging.New(&logs, slog.LevelDebug, ""))
	e, ce := delivery(t)
	if err := Handler("mirror", rdb, rec.fn)(ctx, ce); err != nil {
		t.Fatalf("ErrPoison from fn returned %v, want nil (acknowledged)", err)
	}
	if out := logs.String(); !strings.Contains(out, `"severity":"ERROR"`) || !strings.Contains(out, "operatorId missing") {
		t.Errorf("poison from fn not logged at ERROR: %s", out)
	}
	if markerTTL(t, rdb, "mirror", e.ID) != -2 {
		t.Error("marker set for a poison event")
	}
}
