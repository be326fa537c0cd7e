package session_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// directory stands in for tenant-service, an upstream this service does
// not own: operators and what they may access.
type directory struct {
	mu    sync.Mutex
	calls int
	acc   map[string]session.Access
	err   error
}

func (d *directory) OperatorAccess(_ context.Context, tenantID, operatorID string) (session.Access, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.err != nil {
		return session.Access{}, d.err
	}
	a, ok := d.acc[tenantID+"/"+operatorID]
	if !ok {
		return session.Access{}, session.ErrNoAccess
	}
	return a, nil
}

type fixture struct {
	rdb   *redisx.Client
	m     *session.Manager
	dir   *directory
	clock *testenv.Clock
	p     auth.Principal
	props []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rdb := testenv.Redis(t)
	f := &fixture{rdb: rdb, clock: testenv.NewClock(time.Now().Truncate(time.Second))}
	f.props = []string{ids.New(ids.Property), ids.New(ids.Property)}
	f.p = principal(f.clock.Now().Add(-time.Minute))
	f.dir = &directory{acc: map[string]session.Access{
		f.p.TenantID + "/" + f.p.OperatorID: {Roles: []string{"front_desk"}, PropertyScope: f.props, PrimaryPropertyID: f.props[1]},
	}}
	f.m = session.NewManager(rdb, f.dir, session.Options{PIIKey: []byte("k"), Now: f.clock.Now})
	return f
}

// wantRefused resolves p's request with the session header and wants code.
func (f *fixture) wantRefused(t *testing.T, p auth.Principal, header string, code apperr.Code) {
	t.Helper()
	_, _, err := f.m.Resolve(context.Background(), p, header, session.Client{})
	apperrtest.WantCode(t, err, code)
}

// wantOpened resolves p's request with the session header and wants a new
// session opened; what names the request in a failure.
func (f *fixture) wantOpened(t *testing.T, what string, p auth.Principal, header string) *session.Session {
	t.Helper()
	s, opened, err := f.m.Resolve(context.Background(), p, header, session.Client{})
	if err != nil || !opened {
		t.Fatalf("%s = %v opened %v, %v; want a new session", what, s, opened, err)
	}
	return s
}

// wantResumed resolves p's request with the session header and wants
// session id; what names the request in a failure.
func (f *fixture) wantResumed(t *testing.T, what string, p auth.Principal, header, id string) {
	t.Helper()
	if got, _, err := f.m.Resolve(context.Background(), p, header, session.Client{}); err != nil || got.ID != id {
		t.Fatalf("%s = %v, %v; want session %s", what, got, err, id)
	}
}

// revocation revokes every session of the fixture operator issued up to at.
func (f *fixture) revocation(at time.Time) session.Revocation {
	return session.Revocation{TenantID: f.p.TenantID, OperatorID: f.p.OperatorID, At: at}
}

// open opens the fixture operator's session, as the first request does.
func (f *fixture) open(t *testing.T) *session.Session {
	t.Helper()
	s, _, err := f.m.Resolve(context.Background(), f.p, "", session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func principal(iat time.Time) auth.Principal {
	return auth.Principal{
		TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		TokenID: "jti-1", IssuedAt: iat, ExpiresAt: iat.Add(12 * time.Hour),
	}
}

// reissued is the same operator and device with a token issued at iat.
func reissued(p auth.Principal, iat time.Time) auth.Principal {
	p.IssuedAt, p.ExpiresAt, p.TokenID = iat, iat.Add(12*time.Hour), "jti-"+iat.String()
	return p
}

func TestResolveOpensOnceThenReuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s, opened, err := f.m.Resolve(ctx, f.p, "", session.Client{AppPlatform: "win32", Locale: "de-DE", IP: "10.0.0.7"})
	if err != nil || !opened {
		t.Fatalf("first Resolve = opened %v, err %v; want opened", opened, err)
	}
	if !ids.Valid(ids.Session, s.ID) || s.State != session.StateOpen || s.PrimaryPropertyID != f.props[1] || s.Locale != "de-DE" {
		t.Fatalf("unexpected session %+v", s)
	}
	if s.IPHash == "" || s.IPHash == "10.0.0.7" {
		t.Fatalf("ipHash = %q, want a keyed hash", s.IPHash)
	}
	again, opened, err := f.m.Resolve(ctx, f.p, s.ID, session.Client{})
	if err != nil || opened || again.ID != s.ID {
		t.Fatalf("second Resolve = %v opened %v err %v; want same session %s", again.ID, opened, err, s.ID)
	}
	// The JSON is kept past the 12 h idle expiry, for the sweeper to read.
	ttl := f.rdb.TTL(ctx, f.rdb.Key("sess", s.ID)).Val()
	if ttl < 13*time.Hour || ttl > 14*time.Hour {
		t.Fatalf("session TTL = %v, want ~14h", ttl)
	}
	// Sliding: shorten the TTL, resolve, and it is back to 14 h.
	f.rdb.Expire(ctx, f.rdb.Key("sess", s.ID), time.Hour)
	if _, _, err := f.m.Resolve(ctx, f.p, "", session.Client{}); err != nil {
		t.Fatal(err)
	}
	if ttl := f.rdb.TTL(ctx, f.rdb.Key("sess", s.ID)).Val(); ttl < 13*time.Hour {
		t.Fatalf("TTL after activity = %v, want slid back to ~14h", ttl)
	}
	if f.dir.calls != 1 {
		t.Fatalf("tenant-service called %d times, want 1", f.dir.calls)
	}
}

func TestConcurrentFirstRequestsOpenOneSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 50
	var (
		mu     sync.Mutex
		opened int
		seen   = map[string]bool{}
		errs   []error
	)
	testenv.AtOnce(n, func(int) {
		s, o, err := f.m.Resolve(context.Background(), f.p, "", session.Client{})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		seen[s.ID] = true
		if o {
			opened++
		}
	})
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	if opened != 1 || len(seen) != 1 {
		t.Fatalf("opened = %d, distinct sessions = %d; want exactly 1 and 1", opened, len(seen))
	}
}

func TestResolveRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.open(t)
	otherDevice := f.p
	otherDevice.DeviceID = ids.New(ids.Device)
	f.dir.acc[otherDevice.TenantID+"/"+otherDevice.OperatorID] = f.dir.acc[f.p.TenantID+"/"+f.p.OperatorID]
	noScope := principal(time.Now())
	f.dir.acc[noScope.TenantID+"/"+noScope.OperatorID] = session.Access{Roles: []string{"front_desk"}}

	cases := []struct {
		name   string
		p      auth.Principal
		header string
		want   apperr.Code
	}{
		{"session of another device", otherDevice, s.ID, apperr.SessionDeviceMismatch},
		{"malformed session header", f.p, "bos_nope", apperr.ValidationFailed},
		{"empty property scope", noScope, "", apperr.NoPropertyScope},
		{"operator unknown to tenant-service", principal(time.Now()), "", apperr.NoPropertyScope},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.wantRefused(t, tc.p, tc.header, tc.want)
		})
	}
}

func TestRevokeOperatorWide(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	f.clock.Add(time.Minute)
	rev := f.revocation(f.clock.Now())
	ended, err := f.m.Revoke(ctx, rev)
	if err != nil || len(ended) != 1 || ended[0].ID != s.ID || ended[0].State != session.StateRevoked {
		t.Fatalf("Revoke = %v, %v; want the one session revoked", ended, err)
	}
	f.wantRefused(t, f.p, s.ID, apperr.SessionRevoked)

	// Redelivery: same result, nothing new happens to the state.
	again, err := f.m.Revoke(ctx, rev)
	if err != nil || len(again) != 1 || again[0].ID != s.ID {
		t.Fatalf("replayed Revoke = %v, %v", again, err)
	}
	// An older revocation arriving late does not move the cutoff back.
	if _, err := f.m.Revoke(ctx, f.revocation(rev.At.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	f.wantRefused(t, f.p, "", apperr.SessionRevoked)

	// Signing in again (a token issued after the revocation) opens a new session.
	f.clock.Add(time.Minute)
	fresh := reissued(f.p, f.clock.Now())
	s2 := f.wantOpened(t, "Resolve after re-login", fresh, "")
	if s2.ID == s.ID {
		t.Fatalf("Resolve after re-login resumed the revoked session %s", s.ID)
	}
	// Replaying the old revocation now leaves the new session alone.
	replay, err := f.m.Revoke(ctx, rev)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range replay {
		if r.ID == s2.ID {
			t.Fatal("a replayed revocation revoked a session opened after it")
		}
	}
	if _, _, err := f.m.Resolve(ctx, fresh, s2.ID, session.Client{}); err != nil {
		t.Fatalf("new session after replay: %v", err)
	}
}

func TestRevokeOneDeviceLeavesOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other := f.p
	other.DeviceID = ids.New(ids.Device)
	a := f.open(t)
	b, _, err := f.m.Resolve(ctx, other, "", session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Second)
	ended, err := f.m.Revoke(ctx, session.Revocation{TenantID: f.p.TenantID, OperatorID: f.p.OperatorID, SessionID: a.ID, At: f.clock.Now()})
	if err != nil || len(ended) != 1 || ended[0].ID != a.ID {
		t.Fatalf("Revoke(session) = %v, %v", ended, err)
	}
	f.wantRefused(t, f.p, "", apperr.SessionRevoked)
	f.wantResumed(t, "other device", other, "", b.ID)
	// An event naming the session under another operator revokes nothing.
	stray, err := f.m.Revoke(ctx, session.Revocation{TenantID: f.p.TenantID, OperatorID: ids.New(ids.Operator), SessionID: b.ID, At: f.clock.Now()})
	if err != nil || len(stray) != 0 {
		t.Fatalf("Revoke with mismatched operator = %v, %v; want nothing", stray, err)
	}
}

func TestCloseSignsOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	closed, err := f.m.Close(ctx, s, f.p.IssuedAt)
	if err != nil || closed.State != session.StateClosed || closed.EndReason != session.ReasonSignedOut {
		t.Fatalf("Close = %+v, %v", closed, err)
	}
	f.wantRefused(t, f.p, "", apperr.Unauthenticated)
	f.clock.Add(2 * time.Second)
	f.wantOpened(t, "sign-in after sign-out", reissued(f.p, f.clock.Now()), "")
}

func TestUpdateNeverResurrectsARevokedSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	out := "prp_01ARZ3NDEKTSV4RRFFQ69G5FAV"
	_, err := f.m.Update(ctx, s, session.Patch{PrimaryPropertyID: &out})
	apperrtest.WantCode(t, err, apperr.PropertyOutOfScope)

	// Updates run in a loop on several goroutines; the revocation lands
	// once some have succeeded, and each goroutine stops at its first
	// refusal, so updates overlap the revocation and every update after
	// it is refused.
	locale := "fr-FR"
	var succeeded atomic.Int64
	running := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	var stop atomic.Bool // set when the test fails early
	defer stop.Store(true)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				_, err := f.m.Update(ctx, s, session.Patch{Locale: &locale})
				if err == nil {
					if succeeded.Add(1) >= 20 {
						once.Do(func() { close(running) })
					}
					continue
				}
				switch apperr.CodeOf(err) {
				case apperr.UpstreamUnavailable:
					// Too much contention on the key: the caller retries.
					continue
				case apperr.SessionRevoked:
				default:
					t.Errorf("Update = %v, want success before the revocation and %s after", err, apperr.SessionRevoked)
				}
				return
			}
		})
	}
	<-running
	// Revoke loses to the updates' contention too (a 503 the consumer's
	// redelivery retries); retry it the same way.
	for {
		_, err := f.m.Revoke(ctx, f.revocation(f.clock.Now()))
		if err == nil {
			break
		}
		if apperr.CodeOf(err) != apperr.UpstreamUnavailable {
			t.Fatal(err)
		}
	}
	wg.Wait()
	got, err := f.m.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != session.StateRevoked || got.Locale != locale {
		t.Fatalf("after concurrent updates and revoke: state %s, locale %q; want revoked with the updates' locale", got.State, got.Locale)
	}
	_, err = f.m.Update(ctx, s, session.Patch{Locale: &locale})
	apperrtest.WantCode(t, err, apperr.SessionRevoked)
}

func TestRedisDownIsUnavailable(t *testing.T) {
	t.Parallel()
	dead := testenv.ClosedRedis(t)
	m := session.NewManager(dead, &directory{}, session.Options{})
	_, _, err := m.Resolve(context.Background(), principal(time.Now()), "", session.Client{})
	if apperr.CodeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("Resolve with Redis closed = %v, want UPSTREAM_UNAVAILABLE", err)
	}
}

// A revocation refuses every token issued at or before it: tokens carry
// whole seconds, so one issued in the revocation's second counts as issued
// before it; the first accepted is issued the next second.
func TestCutoffRefusesTokensIssuedAtOrBefore(t *testing.T) {
	t.Parallel()
	for _, offset := range []time.Duration{0, 500 * time.Millisecond, 999 * time.Millisecond} {
		f := newFixture(t)
		ctx := context.Background()
		at := f.clock.Now().Add(offset) // f.clock is on a whole second
		if _, err := f.m.Revoke(ctx, session.Revocation{TenantID: f.p.TenantID, OperatorID: f.p.OperatorID, DeviceID: f.p.DeviceID, At: at}); err != nil {
			t.Fatal(err)
		}
		sec := at.Truncate(time.Second)
		for _, iat := range []time.Time{sec.Add(-time.Second), sec, sec.Add(999 * time.Millisecond)} {
			_, _, err := f.m.Resolve(ctx, reissued(f.p, iat), "", session.Client{})
			if apperr.CodeOf(err) != apperr.SessionRevoked {
				t.Errorf("revoked at %s: token issued %s = %v, want %s", at.Format("15:04:05.000"), iat.Format("15:04:05.000"), err, apperr.SessionRevoked)
			}
		}
		if _, opened, err := f.m.Resolve(ctx, reissued(f.p, sec.Add(time.Second)), "", session.Client{}); err != nil || !opened {
			t.Errorf("revoked at %s: token issued the next second = opened %v, %v; want a new session", at.Format("15:04:05.000"), opened, err)
		}
	}
}
