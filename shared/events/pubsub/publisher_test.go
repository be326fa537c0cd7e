package pubsubevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// adminClient is a plain client on the emulator for the test's own checks.
func adminClient(t testing.TB, project string) *pubsub.Client {
	t.Helper()
	c, err := pubsub.NewClient(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pullSubscription creates a pull subscription on topicID (creating the
// topic) so the test reads back what was published.
func pullSubscription(t testing.TB, c *pubsub.Client, topicID string) string {
	t.Helper()
	ctx := context.Background()
	if err := EnsureTopics(ctx, c.Project(), topicID); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("projects/%s/subscriptions/s%s", c.Project(), testenv.Unique())
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:  name,
		Topic: topicName(c.Project(), topicID),
	}); err != nil {
		t.Fatal(err)
	}
	return name
}

// subscribed makes a fresh emulator project with a pull subscription on
// subject; read pulls exactly n messages from it, as pull does.
func subscribed(t *testing.T, subject string) (project string, read func(n int) []*pubsubpb.PubsubMessage) {
	t.Helper()
	project = testenv.PubsubProject(t)
	admin := adminClient(t, project)
	sub := pullSubscription(t, admin, subject)
	return project, func(n int) []*pubsubpb.PubsubMessage {
		t.Helper()
		return pull(t, admin, sub, n)
	}
}

// pull reads exactly n messages (acknowledging them), then checks that no
// further message arrives for a short while.
func pull(t testing.TB, c *pubsub.Client, sub string, n int) []*pubsubpb.PubsubMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got []*pubsubpb.PubsubMessage
	for len(got) < n {
		resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100})
		if err != nil {
			t.Fatalf("pull %s after %d of %d messages: %v", sub, len(got), n, err)
		}
		var ackIDs []string
		for _, m := range resp.GetReceivedMessages() {
			got = append(got, m.GetMessage())
			ackIDs = append(ackIDs, m.GetAckId())
		}
		if len(ackIDs) > 0 {
			if err := c.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ackIDs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != n {
		t.Fatalf("pulled %d messages, want %d", len(got), n)
	}
	qctx, qcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer qcancel()
	if resp, err := c.SubscriptionAdminClient.Pull(qctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 10}); err == nil && len(resp.GetReceivedMessages()) > 0 {
		t.Fatalf("%d unexpected extra messages on %s", len(resp.GetReceivedMessages()), sub)
	}
	return got
}

func newPublisher(t testing.TB, project string, opts Options) *Publisher {
	t.Helper()
	p, err := NewPublisher(context.Background(), project, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func mustEnvelope(t testing.TB, subject string, data any) events.Envelope {
	t.Helper()
	e, err := events.New(subject, ids.New(ids.Tenant), ids.New(ids.Property), data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPublishDeliversExactEnvelopes(t *testing.T) {
	t.Parallel()
	project := testenv.PubsubProject(t)
	admin := adminClient(t, project)
	subjects := []string{events.DashboardViewed, events.AISuggestionDecided}
	subs := map[string]string{}
	for _, s := range subjects {
		subs[s] = pullSubscription(t, admin, s)
	}
	p := newPublisher(t, project, Options{})

	const n = 25
	want := map[string]map[string]events.Envelope{} // subject → id → envelope
	var batch []events.Envelope
	for i := range n {
		s := subjects[i%len(subjects)]
		e := mustEnvelope(t, s, map[string]any{"i": i, "html": "<&>"})
		if i%5 == 0 {
			e.PropertyID = "" // tenant-wide events travel too
		}
		batch = append(batch, e)
		if want[s] == nil {
			want[s] = map[string]events.Envelope{}
		}
		want[s][e.ID] = e
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, batch...); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	for _, s := range subjects {
		msgs := pull(t, admin, subs[s], len(want[s]))
		for _, m := range msgs {
			ev, err := events.Decode(m.GetData())
			if err != nil {
				t.Fatalf("message on %s is not an envelope: %v\n%s", s, err, m.GetData())
			}
			w, ok := want[s][ev.ID]
			if !ok {
				t.Fatalf("unexpected event %s on topic %s", ev.ID, s)
			}
			delete(want[s], ev.ID)
			wantData, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(wantData), string(m.GetData())); diff != "" {
				t.Errorf("message data (-want, +got):\n%s", diff)
			}
			wantAttrs := map[string]string{"subject": s, "tenantId": w.TenantID}
			if diff := cmp.Diff(wantAttrs, m.GetAttributes()); diff != "" {
				t.Errorf("attributes (-want, +got):\n%s", diff)
			}
		}
		if len(want[s]) != 0 {
			t.Errorf("%d events never arrived on %s", len(want[s]), s)
		}
	}
}

func TestPublishConcurrentCallers(t *testing.T) {
	t.Parallel()
	project, read := subscribed(t, events.OperatorActivity)
	p := newPublisher(t, project, Options{})

	const callers, each = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			var evs []events.Envelope
			for range each {
				evs = append(evs, mustEnvelope(t, events.OperatorActivity, struct{}{}))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs <- p.Publish(ctx, evs...)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	msgs := read(callers * each)
	seen := map[string]bool{}
	for _, m := range msgs {
		ev, err := events.Decode(m.GetData())
		if err != nil {
			t.Fatal(err)
		}
		if seen[ev.ID] {
			t.Errorf("event %s delivered twice", ev.ID)
		}
		seen[ev.ID] = true
	}
}

func TestPublishReportsWhichFailed(t *testing.T) {
	t.Parallel()
	project, read := subscribed(t, events.AlertAcknowledged)
	p := newPublisher(t, project, Options{})

	good := mustEnvelope(t, events.AlertAcknowledged, struct{}{})
	invalid := mustEnvelope(t, events.AlertAcknowledged, struct{}{})
	invalid.TenantID = "tenant-1"
	// Topic ids equal subjects; a subject without a topic is a deploy bug
	// that must surface as an error, not vanish.
	noTopic := mustEnvelope(t, events.LockActionProxied, struct{}{})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.Publish(ctx, good, invalid, noTopic)
	var perr *PublishError
	if !errors.As(err, &perr) {
		t.Fatalf("Publish = %v, want *PublishError", err)
	}
	if perr.Total != 3 || len(perr.Failures) != 2 || !perr.Failed(invalid.ID) || !perr.Failed(noTopic.ID) || perr.Failed(good.ID) {
		t.Fatalf("PublishError = %v", perr)
	}
	for _, f := range perr.Failures {
		if f.EventID == noTopic.ID && status.Code(f.Err) != codes.NotFound {
			t.Errorf("missing topic error = %v, want NotFound", f.Err)
		}
	}
	msgs := read(1)
	if ev, err := events.Decode(msgs[0].GetData()); err != nil || ev.ID != good.ID {
		t.Errorf("delivered %v (%v), want %s", ev.ID, err, good.ID)
	}
}

func TestPublishAfterClose(t *testing.T) {
	t.Parallel()
	project := testenv.PubsubProject(t)
	p, err := NewPublisher(context.Background(), project, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err = p.Publish(context.Background(), mustEnvelope(t, events.SessionOpened, struct{}{}))
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := p.Publish(context.Background()); err != nil {
		t.Fatalf("Publish of nothing = %v", err)
	}
}

// blackhole accepts TCP connections and never answers: the worst case for a
// client, which connects and then waits.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func TestPublishUnreachableRespectsDeadline(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t)
	cases := []struct {
		name string
		addr func(*testing.T) string
	}{
		{name: "connection refused", addr: func(t *testing.T) string { return testenv.ClosedAddr(t) }},
		{name: "never answers", addr: blackhole},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const bundleTimeout = 2 * time.Second
			p, err := NewPublisher(context.Background(), testenv.PubsubProject(t), Options{
				Timeout: bundleTimeout,
				ClientOptions: []option.ClientOption{
					option.WithEndpoint(tc.addr(t)),
					option.WithoutAuthentication(),
					option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			evs := []events.Envelope{
				mustEnvelope(t, events.DeviceHeartbeat, struct{}{}),
				mustEnvelope(t, events.DeviceHeartbeatLost, struct{}{}),
			}
			const deadline = 500 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err = p.Publish(ctx, evs...)
			took := time.Since(start)
			if err == nil {
				t.Fatal("Publish to an unreachable server succeeded")
			}
			// Bounded by the caller's deadline, not the 10 s default; room
			// for a loaded machine.
			if took > deadline+5*time.Second {
				t.Errorf("Publish took %v with a %v deadline", took, deadline)
			}
			var perr *PublishError
			if !errors.As(err, &perr) || len(perr.Failures) != len(evs) {
				t.Errorf("Publish = %v, want a PublishError listing both events", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Publish = %v, want it to wrap context.DeadlineExceeded", err)
			}
			t.Logf("Publish failed after %v: %v", took, err)

			start = time.Now()
			if err := p.Close(); err != nil {
				t.Logf("Close: %v", err)
			}
			if took := time.Since(start); took > bundleTimeout+5*time.Second {
				t.Errorf("Close took %v, want about the bundle timeout %v at most", took, bundleTimeout)
			}
		})
	}
}

func TestEnsureTopicsIdempotent(t *testing.T) {
	t.Parallel()
	project := testenv.PubsubProject(t)
	ctx := context.Background()
	all := append(events.Emitted(), events.Consumed()...)
	for range 2 {
		if err := EnsureTopics(ctx, project, all...); err != nil {
			t.Fatal(err)
		}
	}
	admin := adminClient(t, project)
	for _, s := range all {
		if _, err := admin.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: topicName(project, s)}); err != nil {
			t.Errorf("topic %s: %v", s, err)
		}
	}
}

func TestEnsurePushSubscription(t *testing.T) {
	t.Parallel()
	project := testenv.PubsubProject(t)
	ctx := context.Background()
	admin := adminClient(t, project)
	name := fmt.Sprintf("projects/%s/subscriptions/dev-consumer", project)
	endpoint := func() string {
		t.Helper()
		s, err := admin.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
		if err != nil {
			t.Fatal(err)
		}
		return s.GetPushConfig().GetPushEndpoint()
	}

	first := "http://127.0.0.1:9/consumer/projects/" + project + "/topics/" + events.IAMSessionRevoked
	for range 2 {
		if err := EnsurePushSubscription(ctx, project, events.IAMSessionRevoked, "dev-consumer", first); err != nil {
			t.Fatal(err)
		}
	}
	if got := endpoint(); got != first {
		t.Errorf("push endpoint = %q, want %q", got, first)
	}
	moved := "http://127.0.0.1:10/consumer"
	if err := EnsurePushSubscription(ctx, project, events.IAMSessionRevoked, "dev-consumer", moved); err != nil {
		t.Fatal(err)
	}
	if got := endpoint(); got != moved {
		t.Errorf("push endpoint after move = %q, want %q", got, moved)
	}
	if err := EnsurePushSubscription(ctx, project, events.IAMDeviceDeleted, "dev-consumer", moved); err == nil {
		t.Error("re-targeting an existing subscription at another topic succeeded")
	}
	if err := EnsurePushSubscription(ctx, project, events.IAMSessionRevoked, "dev-consumer", ""); err == nil {
		t.Error("empty endpoint accepted")
	}
}

// BenchmarkPublish measures the latency one request pays to publish and wait,
// sequentially, against whatever PUBSUB_EMULATOR_HOST points at.
func BenchmarkPublish(b *testing.B) {
	for _, per := range []int{1, 10} {
		b.Run(fmt.Sprintf("events=%d", per), func(b *testing.B) {
			project := testenv.PubsubProject(b)
			if err := EnsureTopics(context.Background(), project, events.OperatorActivity); err != nil {
				b.Fatal(err)
			}
			p := newPublisher(b, project, Options{})
			ctx := context.Background()
			// Warm the connection and the topic publisher.
			if err := p.Publish(ctx, mustEnvelope(b, events.OperatorActivity, struct{}{})); err != nil {
				b.Fatal(err)
			}
			evs := make([]events.Envelope, per)
			b.ResetTimer()
			for b.Loop() {
				for i := range evs {
					evs[i] = mustEnvelope(b, events.OperatorActivity, map[string]int{"i": i})
				}
				if err := p.Publish(ctx, evs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*per), "µs/event")
		})
	}
}

// Enqueue returns without waiting for Pub/Sub, and Close flushes what is
// still batched: with a batching delay far longer than the test, every
// enqueued event arrives only because Close sent it.
func TestEnqueueThenCloseDeliversEverything(t *testing.T) {
	t.Parallel()
	project, read := subscribed(t, events.DashboardViewed)
	p, err := NewPublisher(context.Background(), project, Options{DelayThreshold: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	want := map[string]bool{}
	start := time.Now()
	for i := range n {
		e := mustEnvelope(t, events.DashboardViewed, map[string]int{"i": i})
		want[e.ID] = true
		p.Enqueue(context.Background(), e)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Enqueue of %d events took %v: it waited", n, d)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, m := range read(n) {
		ev, err := events.Decode(m.GetData())
		if err != nil || !want[ev.ID] {
			t.Fatalf("unexpected message %s (%v)", m.GetData(), err)
		}
		delete(want, ev.ID)
	}
	if len(want) != 0 {
		t.Fatalf("%d enqueued events never arrived", len(want))
	}
	// After Close nothing is sent, and nothing panics.
	p.Enqueue(context.Background(), mustEnvelope(t, events.DashboardViewed, map[string]int{"late": 1}))
}

// Enqueued events batch on publishers of their own: a Publish to the same
// topic is sent at once and returns, while the enqueued event waits for its
// (here, minute-long) batching delay, until Close flushes it.
func TestPublishIsNotHeldBehindEnqueuedEvents(t *testing.T) {
	t.Parallel()
	project, read := subscribed(t, events.DashboardViewed)
	p := newPublisher(t, project, Options{EnqueueDelayThreshold: time.Minute}) // its cleanup's second Close is a no-op
	queued := mustEnvelope(t, events.DashboardViewed, map[string]string{"via": "enqueue"})
	p.Enqueue(context.Background(), queued)
	awaited := mustEnvelope(t, events.DashboardViewed, map[string]string{"via": "publish"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, awaited); err != nil {
		t.Fatalf("Publish behind an enqueued event: %v", err)
	}
	// pull also checks that nothing else (the enqueued event) is there yet.
	if got := read(1); decodedID(t, got[0]) != awaited.ID {
		t.Fatalf("first message %s, want the published %s", got[0].GetData(), awaited.ID)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := read(1); decodedID(t, got[0]) != queued.ID {
		t.Fatalf("after Close %s, want the enqueued %s", got[0].GetData(), queued.ID)
	}
}

func decodedID(t *testing.T, m *pubsubpb.PubsubMessage) string {
	t.Helper()
	ev, err := events.Decode(m.GetData())
	if err != nil {
		t.Fatalf("decode %s: %v", m.GetData(), err)
	}
	return ev.ID
}
