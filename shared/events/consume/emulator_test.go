package consume

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// TestPushThroughEmulator runs the whole local path: publisher → emulator
// topic → push subscription → Push → fn, including the emulator redelivering
// after a 500.
func TestPushThroughEmulator(t *testing.T) {
	t.Parallel()
	project := testenv.PubsubProject(t)
	rdb := testenv.Redis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	succeeded := make(chan events.Envelope, 1)
	var requests atomic.Int32
	rec := &recorder{err: func(call int) error {
		if call == 1 {
			return errors.New("first attempt fails")
		}
		return nil
	}}
	push := Push("e2e", rdb, func(ctx context.Context, ev events.Envelope) error {
		if err := rec.fn(ctx, ev); err != nil {
			return err
		}
		succeeded <- ev
		return nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		push(w, r.WithContext(logtest.Context(r.Context(), t)))
	}))
	t.Cleanup(srv.Close)

	subject := events.AISuggestionCreated
	if err := pubsubevents.EnsurePushSubscription(ctx, project, subject, "e2e", srv.URL+"/e2e"); err != nil {
		t.Fatal(err)
	}
	p, err := pubsubevents.NewPublisher(ctx, project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	want := envelope(t)
	want.Subject = subject
	if err := p.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}

	select {
	case got := <-succeeded:
		if string(encode(t, got)) != string(encode(t, want)) {
			t.Errorf("fn got %s, want %s", encode(t, got), encode(t, want))
		}
	case <-ctx.Done():
		t.Fatalf("event not processed; %d push requests, %d fn calls", requests.Load(), rec.count())
	}
	if rec.count() != 2 {
		t.Errorf("fn ran %d times, want 2 (500 then redelivered)", rec.count())
	}
	// The marker is written after fn returns, so it may trail the signal.
	for markerTTL(t, rdb, "e2e", want.ID) <= 0 {
		if ctx.Err() != nil {
			t.Fatal("no processed marker")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
