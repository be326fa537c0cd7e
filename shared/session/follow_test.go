package session_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// fail makes the directory answer err until called with nil.
func (d *directory) fail(err error) { d.mu.Lock(); d.err = err; d.mu.Unlock() }

func (d *directory) set(key string, a session.Access) { d.mu.Lock(); d.acc[key] = a; d.mu.Unlock() }

func (d *directory) count() int { d.mu.Lock(); defer d.mu.Unlock(); return d.calls }

// Narrowing an operator's scope and roles in tenant-service reaches an
// active session within 5 minutes, without a call on every request, and a
// newer token makes it re-read at once.
func TestAccessFollowsTenantService(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	key := f.p.TenantID + "/" + f.p.OperatorID
	s := f.open(t)
	if !s.InScope(f.props[0]) || f.dir.count() != 1 {
		t.Fatalf("opened with scope %v after %d calls", s.PropertyScope, f.dir.count())
	}
	f.dir.set(key, session.Access{Roles: []string{"housekeeping_lead"}, PropertyScope: f.props[1:]})

	// Requests every 30 s: the stored access serves, no call, until due.
	var narrowedAt time.Duration
	for elapsed := 30 * time.Second; elapsed <= 6*time.Minute; elapsed += 30 * time.Second {
		f.clock.Add(30 * time.Second)
		got, _, err := f.m.Resolve(ctx, f.p, s.ID, session.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if !got.InScope(f.props[0]) && narrowedAt == 0 {
			narrowedAt = elapsed
			if got.HasRole("front_desk") || !got.HasRole("housekeeping_lead") {
				t.Fatalf("roles %v after the refresh, want [housekeeping_lead]", got.Roles)
			}
		}
	}
	if narrowedAt == 0 || narrowedAt > session.AccessMaxAge {
		t.Fatalf("scope narrowed after %v, want within %v", narrowedAt, session.AccessMaxAge)
	}
	// One call at open, one per refresh: 13 requests over 6 min made one or two.
	if n := f.dir.count(); n < 2 || n > 3 {
		t.Fatalf("tenant-service called %d times over 13 requests, want 2-3", n)
	}
	stored, err := f.m.Get(ctx, s.ID)
	if err != nil || stored.InScope(f.props[0]) {
		t.Fatalf("stored session scope %v, %v: want the narrowed scope persisted", stored.PropertyScope, err)
	}

	// A token issued after the last read makes the next request re-read.
	f.dir.set(key, session.Access{Roles: []string{"manager"}, PropertyScope: f.props})
	f.clock.Add(time.Second)
	before := f.dir.count()
	got, _, err := f.m.Resolve(ctx, reissued(f.p, f.clock.Now()), s.ID, session.Client{})
	if err != nil || !got.HasRole("manager") || !got.InScope(f.props[0]) || got.ID != s.ID {
		t.Fatalf("newer token: %+v, %v; want the same session with the widened access", got, err)
	}
	if f.dir.count() != before+1 {
		t.Fatalf("newer token made %d calls, want 1", f.dir.count()-before)
	}
	// ... and only once: the same token again is not newer.
	if _, _, err := f.m.Resolve(ctx, reissued(f.p, f.clock.Now()), s.ID, session.Client{}); err != nil || f.dir.count() != before+1 {
		t.Fatalf("same token again: %v, %d calls; want no call", err, f.dir.count()-before)
	}

	// Every property taken away: refused as at open, on the same session.
	f.dir.set(key, session.Access{Roles: []string{"manager"}})
	f.clock.Add(session.AccessMaxAge)
	f.wantRefused(t, f.p, s.ID, apperr.NoPropertyScope)
	// Removed from the tenant altogether: the same.
	f.dir.mu.Lock()
	delete(f.dir.acc, key)
	f.dir.mu.Unlock()
	f.clock.Add(session.AccessMaxAge)
	f.wantRefused(t, f.p, s.ID, apperr.NoPropertyScope)
}

// A tenant-service failure is tolerated while the stored access is younger
// than AccessMaxAge, and refused past it.
func TestAccessRefreshFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.open(t)
	f.dir.fail(apperr.Unavailable(errors.New("tenant-service down"), "tenant-service"))
	f.clock.Add(session.AccessMaxAge - 30*time.Second)
	f.wantResumed(t, "due refresh failing before the bound", f.p, s.ID, s.ID)
	f.clock.Add(30 * time.Second)
	f.wantRefused(t, f.p, s.ID, apperr.UpstreamUnavailable)
	f.dir.fail(nil)
	f.wantResumed(t, "after recovery", f.p, s.ID, s.ID)
}

// An operator-wide revocation finds a session however long it has slid:
// the operator's set is renewed with the session, not only at open.
func TestRevokeOperatorWideFindsOldSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	opKey := f.rdb.KeyNames().OperatorSessions(f.p.TenantID, f.p.OperatorID)
	// 30 h of activity, a request every 5 h. The set's Redis TTL runs on
	// real time, so each step also leaves it one second, as if the 25 h
	// since the last renewal had nearly passed.
	for range 6 {
		f.rdb.Expire(ctx, opKey, time.Second)
		f.clock.Add(5 * time.Hour)
		f.wantResumed(t, "resolve", f.p, s.ID, s.ID)
	}
	time.Sleep(1100 * time.Millisecond)
	if f.clock.Now().Sub(s.OpenedAt.Time) < 30*time.Hour {
		t.Fatal("the session is not 30 h old")
	}
	ended, err := f.m.Revoke(ctx, f.revocation(f.clock.Now()))
	if err != nil || len(ended) != 1 || ended[0].ID != s.ID || ended[0].State != session.StateRevoked {
		t.Fatalf("Revoke of a 30 h old session = %v, %v; want it revoked", ended, err)
	}
}

// Members whose session key is gone are pruned by an operator-wide
// revocation, so the set does not grow with the operator's history.
func TestRevokePrunesVanishedSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	opKey := f.rdb.KeyNames().OperatorSessions(f.p.TenantID, f.p.OperatorID)
	f.rdb.SAdd(ctx, opKey, "bos_01ARZ3NDEKTSV4RRFFQ69G5FAV")
	f.clock.Add(time.Second)
	if _, err := f.m.Revoke(ctx, f.revocation(f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	members := f.rdb.SMembers(ctx, opKey).Val()
	if !slices.Equal(members, []string{s.ID}) {
		t.Fatalf("operator set %v, want only the live session %s", members, s.ID)
	}
}

// A revocation dated in the future counts as of now: the operator can sign
// in again at once instead of being locked out until that date.
func TestFutureRevocationIsClamped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	ended, err := f.m.Revoke(ctx, f.revocation(f.clock.Now().Add(24*time.Hour)))
	if err != nil || len(ended) != 1 || ended[0].ID != s.ID || !ended[0].EndedAt.Equal(f.clock.Now()) {
		t.Fatalf("future revocation = %v, %v; want the session revoked as of now", ended, err)
	}
	f.wantRefused(t, f.p, "", apperr.SessionRevoked)
	f.clock.Add(time.Second)
	f.wantOpened(t, "sign-in a second after a future-dated revocation", reissued(f.p, f.clock.Now()), "")
}

// Sign-out writes its cutoff before it ends the session, so a failure
// ending it leaves the token dead; and a token whose iat lies ahead of the
// server's clock dies with it.
func TestCloseCutsBeforeEnding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	// The session's JSON unreadable: ending it fails.
	f.rdb.Set(ctx, f.rdb.KeyNames().Session(s.ID), "{not json", time.Hour)
	if _, err := f.m.Close(ctx, s, f.p.IssuedAt); err == nil {
		t.Fatal("Close over an unreadable session succeeded")
	}
	f.wantRefused(t, f.p, "", apperr.Unauthenticated)

	g := newFixture(t)
	ahead := reissued(g.p, g.clock.Now().Add(30*time.Second))
	s2, _, err := g.m.Resolve(ctx, ahead, "", session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.m.Close(ctx, s2, ahead.IssuedAt); err != nil {
		t.Fatal(err)
	}
	g.clock.Add(10 * time.Second)
	_, _, err = g.m.Resolve(ctx, ahead, "", session.Client{})
	apperrtest.WantCode(t, err, apperr.Unauthenticated)
}

// An idle session is expired by the sweeper exactly once, however many runs
// overlap; a session with recent activity is left alone; a request after
// the expiry opens a new session instead of reviving the old one.
func TestSweepExpiresIdleSessionsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	idle := f.open(t)
	busy := f.p
	busy.DeviceID = ids.New(ids.Device)
	if _, _, err := f.m.Resolve(ctx, busy, "", session.Client{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(session.TTL - time.Hour)
	if _, _, err := f.m.Resolve(ctx, busy, "", session.Client{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Hour)

	var (
		mu      sync.Mutex
		emitted []*session.Session
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			if _, err := f.m.Sweep(ctx, 10, func(_ context.Context, s *session.Session) error {
				mu.Lock()
				emitted = append(emitted, s)
				mu.Unlock()
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(emitted) != 1 || emitted[0].ID != idle.ID {
		t.Fatalf("emitted %d sessions, want the idle one once", len(emitted))
	}
	e := emitted[0]
	if e.State != session.StateExpired || e.EndReason != session.ReasonExpired || !e.EndedAt.Equal(idle.OpenedAt.Add(session.TTL)) {
		t.Fatalf("expired session %+v: want state expired, reason expired, ended at its idle expiry", e)
	}
	if res, err := f.m.Sweep(ctx, 10, func(context.Context, *session.Session) error {
		t.Error("a later sweep emitted again")
		return nil
	}); err != nil || res.Expired != 0 {
		t.Fatalf("later sweep = %+v, %v", res, err)
	}

	// The idle device comes back: a new session, the old one stays expired.
	if again := f.wantOpened(t, "request after expiry", f.p, ""); again.ID == idle.ID {
		t.Fatalf("request after expiry opened the expired session %s again", idle.ID)
	}
	old, err := f.m.Get(ctx, idle.ID)
	if err != nil || old.State != session.StateExpired {
		t.Fatalf("old session %+v, %v; want it still expired", old, err)
	}
}

// A request that arrives after the idle expiry but before any sweep opens
// a new session too; the sweep then closes the old one.
func TestLateRequestBeforeSweepNeverRevives(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	idle := f.open(t)
	f.clock.Add(session.TTL + time.Second)
	fresh := f.wantOpened(t, "late request", f.p, idle.ID)
	if fresh.ID == idle.ID {
		t.Fatalf("late request opened the expired session %s again", idle.ID)
	}
	var got []string
	if _, err := f.m.Sweep(ctx, 10, func(_ context.Context, s *session.Session) error {
		got = append(got, s.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{idle.ID}) {
		t.Fatalf("swept %v, want only the old session", got)
	}
	f.wantResumed(t, "after the sweep", f.p, "", fresh.ID)
}

// A run whose emit fails leaves the session claimed; after the lease a run
// claims it again and emits the same expiry.
func TestSweepRetriesAFailedEmit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	f.clock.Add(session.TTL + time.Minute)
	if _, err := f.m.Sweep(ctx, 10, func(context.Context, *session.Session) error { return errors.New("pubsub down") }); err == nil {
		t.Fatal("a failed emit did not fail the sweep")
	}
	var got []*session.Session
	emit := func(_ context.Context, s *session.Session) error { got = append(got, s); return nil }
	if _, err := f.m.Sweep(ctx, 10, emit); err != nil || len(got) != 0 {
		t.Fatalf("within the lease: %d emitted, %v; want none", len(got), err)
	}
	f.clock.Add(6 * time.Minute)
	if _, err := f.m.Sweep(ctx, 10, emit); err != nil || len(got) != 1 || got[0].ID != s.ID || !got[0].EndedAt.Equal(s.OpenedAt.Add(session.TTL)) {
		t.Fatalf("after the lease: %v, %v; want the session emitted with its expiry", got, err)
	}
	if _, err := f.m.Sweep(ctx, 10, emit); err != nil || len(got) != 1 {
		t.Fatalf("after success: %d emitted, %v; want no repeat", len(got), err)
	}
}

// Sign-out and revocation take a session out of the expiry index: it is
// never also announced as expired.
func TestEndedSessionsAreNotSwept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	if _, err := f.m.Close(ctx, s, f.p.IssuedAt); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(session.TTL + time.Minute)
	res, err := f.m.Sweep(ctx, 10, func(context.Context, *session.Session) error {
		t.Error("a signed-out session was emitted as expired")
		return nil
	})
	if err != nil || res.Expired != 0 || res.Gone != 0 {
		t.Fatalf("sweep = %+v, %v; want nothing claimed", res, err)
	}
}
