package sessionsweeper_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	sessionsweeper "github.com/melmastoon/bff-backoffice/functions/session-sweeper"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/session/sessiontest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// recorder keeps what was published; fail makes the next publish fail.
type recorder struct {
	mu   sync.Mutex
	got  []events.Envelope
	fail bool
}

func (r *recorder) Publish(_ context.Context, evs ...events.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		r.fail = false
		return errors.New("pubsub down")
	}
	r.got = append(r.got, evs...)
	return nil
}

// Two overlapping runs publish one session.closed.v1 for an idle session,
// dated at its expiry; a run whose publish failed is followed, after the
// lease, by the very same event (same id), which consumers drop.
func TestRunPublishesOnceWithAStableID(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	var (
		mu  sync.Mutex
		now = time.Now().Truncate(time.Second)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	m := session.NewManager(rdb, sessiontest.NewFrontDesk(), session.Options{Now: clock})
	open := func() *session.Session {
		p := auth.Principal{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
			TokenID: "j", IssuedAt: clock().Add(-time.Minute), ExpiresAt: clock().Add(time.Hour)}
		s, _, err := m.Resolve(ctx, p, "", session.Client{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	advance(session.TTL + time.Minute)

	pub := &recorder{fail: true}
	run := sessionsweeper.Run(m, pub)
	// The first publish fails: that run fails, its other session may or
	// may not have gone out.
	if _, err := run(ctx); err == nil {
		t.Fatal("a run whose publish failed succeeded")
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := run(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	advance(6 * time.Minute) // past the failed run's lease
	if _, err := run(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]events.Envelope{}
	for _, ev := range pub.got {
		var d struct {
			SessionID string `json:"sessionId"`
			Reason    string `json:"reason"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.Reason != "expired" || ev.Subject != events.SessionClosed {
			t.Fatalf("event %s %s (%v), want session.closed with reason expired", ev.Subject, ev.Data, err)
		}
		if prev, ok := seen[d.SessionID]; ok && prev.ID != ev.ID {
			t.Fatalf("session %s published twice with ids %s and %s, want one id", d.SessionID, prev.ID, ev.ID)
		}
		seen[d.SessionID] = ev
	}
	for _, s := range []*session.Session{a, b} {
		ev, ok := seen[s.ID]
		if !ok {
			t.Fatalf("session %s never announced", s.ID)
		}
		if !ev.OccurredAt.Equal(s.OpenedAt.Add(session.TTL)) {
			t.Fatalf("event dated %v, want the idle expiry %v", ev.OccurredAt, s.OpenedAt.Add(session.TTL))
		}
	}
	if len(pub.got) > 2 {
		t.Logf("%d publishes for 2 sessions: the failed run's first session went out again, with its id", len(pub.got))
	}
}
