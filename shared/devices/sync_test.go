package devices_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
)

// scripted is a sync-service whose replies come from a queue of versions,
// so replies can be delivered in any order.
type scripted struct {
	versions chan int64
	err      error
	calls    atomic.Int32
}

func (s *scripted) reply() (syncsvc.Cursor, error) {
	s.calls.Add(1)
	if s.err != nil {
		return syncsvc.Cursor{}, s.err
	}
	v := <-s.versions
	return syncsvc.Cursor{PullCursor: "pull-" + strconv.FormatInt(v, 10), PushAck: "ack", CursorVersion: v, ServerTimestamp: time.Now()}, nil
}

func (s *scripted) DeviceCursor(context.Context, string, string, string) (syncsvc.Cursor, error) {
	return s.reply()
}

func (s *scripted) Handshake(context.Context, string, string, string, syncsvc.Handshake) (syncsvc.Cursor, error) {
	return s.reply()
}

// Replies of sync-service applied in shuffled order, concurrently, leave
// the highest version stored; each call answers the stored cursor, never
// one older than its own reply; exactly the calls that moved it say so.
func TestCursorNeverMovesBackwards(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := anOperator()
	const n = 30
	up := &scripted{versions: make(chan int64, n)}
	for _, v := range rand.Perm(n) {
		up.versions <- int64(v + 1)
	}
	var wg sync.WaitGroup
	var advanced atomic.Int32
	for range n {
		wg.Go(func() {
			res, evs, note, err := f.svc.RefreshCursor(ctx, a, up)
			if err != nil {
				t.Error(err)
				return
			}
			if note.Action == "" || note.PropertyID != a.PropertyScope[0] {
				t.Errorf("note = %+v", note)
			}
			if res.Advanced {
				advanced.Add(1)
				if len(evs) != 1 || evs[0].Subject != events.SyncCursorAdvanced {
					t.Errorf("advanced without its event: %+v", evs)
				}
			} else if len(evs) != 0 {
				t.Errorf("events without an advance: %+v", evs)
			}
		})
	}
	wg.Wait()
	up.versions <- 5 // one more, late and old
	res, _, _, err := f.svc.RefreshCursor(ctx, a, up)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastCursor.CursorVersion != n || res.LastCursor.PullCursor != "pull-"+strconv.Itoa(n) || res.Advanced {
		t.Fatalf("after an old reply: %+v, want version %d kept", res, n)
	}
	if advanced.Load() < 1 || advanced.Load() > n {
		t.Errorf("advanced %d times", advanced.Load())
	}
}

// A handshake is recorded only when sync-service answered: a timeout is
// the call's error and stores nothing; a stale version is 409
// VERSION_CONFLICT; a deleted device is 404 and sync-service is not asked.
func TestHandshakeOutcomes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := anOperator()
	v := int64(3)
	req := devices.HandshakeRequest{PullCursor: "p", PushAck: "a", CursorVersion: &v}

	down := &scripted{err: apperr.Unavailable(context.DeadlineExceeded, "sync-service")}
	stale := &scripted{err: &httpc.ConflictError{Service: "sync-service", Op: "x", Code: "STALE_CURSOR"}}
	for _, tc := range []struct {
		name string
		req  devices.HandshakeRequest
		up   *scripted
		code apperr.Code
	}{
		{"timeout", req, down, apperr.UpstreamUnavailable},
		{"no cursorVersion", devices.HandshakeRequest{}, down, apperr.ValidationFailed},
		{"stale", req, stale, apperr.VersionConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := f.svc.Handshake(ctx, a, tc.req, tc.up)
			apperrtest.WantCode(t, err, tc.code)
		})
	}
	ok := &scripted{versions: make(chan int64, 1)}
	ok.versions <- 4
	res, evs, note, err := f.svc.Handshake(ctx, a, req, ok)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastCursor.CursorVersion != 4 || !res.Advanced || res.LastSyncHandshakeAt == nil || note.Action != "sync.handshake" {
		t.Fatalf("handshake = %+v, note %+v", res, note)
	}
	subjects := map[string]bool{}
	for _, ev := range evs {
		subjects[ev.Subject] = true
	}
	if !subjects[events.SyncCursorAdvanced] || !subjects[events.SyncHandshakeCompleted] {
		t.Errorf("events = %v", subjects)
	}

	if _, err := f.svc.Delete(ctx, a.TenantID, a.DeviceID, time.Now()); err != nil {
		t.Fatal(err)
	}
	ask := &scripted{versions: make(chan int64, 1)}
	ask.versions <- 9
	if _, _, _, err := f.svc.Handshake(ctx, a, req, ask); !apperr.Is(err, apperr.NotFound) || ask.calls.Load() != 0 {
		t.Fatalf("deleted device: %v, %d upstream calls", err, ask.calls.Load())
	}
}
