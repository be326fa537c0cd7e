package auth

// The full verification suite runs against the fake iam-service over HTTP
// (infra/fakes/iam/verify_test.go); these are the parts that need no JWKS.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	var cfg Config
	err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{
		"IAM_JWKS_URL": "https://iam.example/.well-known/jwks.json",
		"IAM_ISSUER":   "https://iam.example",
	}), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audience != DefaultAudience {
		t.Fatalf("audience %q, want the default %q", cfg.Audience, DefaultAudience)
	}
	bad := []Config{
		{JWKSURL: "iam.example/jwks", Issuer: "x", Audience: "y"},
		{JWKSURL: "file:///etc/jwks.json", Issuer: "x", Audience: "y"},
		{JWKSURL: "https://", Issuer: "x", Audience: "y"},
		{JWKSURL: "https://iam.example/jwks", Issuer: " ", Audience: "y"},
		{JWKSURL: "https://iam.example/jwks", Issuer: "x", Audience: ""},
	}
	for i, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: %+v validated", i, c)
		}
	}
	var fresh Config
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{"IAM_ISSUER": "x"}), &fresh); err == nil {
		t.Error("missing IAM_JWKS_URL accepted")
	}
}

// testIssuer stands in for iam-service: it signs tokens for cfg with a
// P-256 key of its own, under kid k1.
type testIssuer struct {
	cfg Config
	key *ecdsa.PrivateKey
}

func newTestIssuer(t *testing.T) testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testIssuer{cfg: Config{Issuer: "https://iam.test", Audience: DefaultAudience}, key: key}
}

// verifier verifies is's tokens, finding keys with kf.
func (is testIssuer) verifier(t *testing.T, kf jwt.Keyfunc) *Verifier {
	t.Helper()
	v, err := NewVerifierWithKeyfunc(is.cfg, kf)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mint returns the Authorization header of a token for operator sub of
// tenant tid on device dev, with id jti, issued at iat and living ttl.
func (is testIssuer) mint(t *testing.T, sub, tid, dev, jti string, iat time.Time, ttl time.Duration) string {
	t.Helper()
	tk := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": is.cfg.Issuer, "aud": is.cfg.Audience, "sub": sub, "tid": tid,
		"cnf": map[string]string{"kid": dev}, "iat": iat.Unix(), "exp": iat.Add(ttl).Unix(), "jti": jti,
	})
	tk.Header["kid"] = "k1"
	s, err := tk.SignedString(is.key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func TestVerifyWithStaticKey(t *testing.T) {
	t.Parallel()
	is := newTestIssuer(t)
	down := false
	v := is.verifier(t, func(t *jwt.Token) (any, error) {
		if down {
			return nil, fmt.Errorf("fetch: %w", ErrKeySetUnavailable)
		}
		if t.Header["kid"] != "k1" {
			return nil, errors.New("unknown kid")
		}
		return &is.key.PublicKey, nil
	})
	sub, tid, dev := ids.New(ids.Operator), ids.New(ids.Tenant), ids.New(ids.Device)
	mint := func(iat time.Time, ttl time.Duration) string {
		return is.mint(t, sub, tid, dev, "j1", iat, ttl)
	}
	now := time.Now()
	p, err := v.Verify(context.Background(), mint(now, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{TenantID: tid, OperatorID: sub, DeviceID: dev, TokenID: "j1",
		IssuedAt: time.Unix(now.Unix(), 0), ExpiresAt: time.Unix(now.Add(time.Hour).Unix(), 0)}
	if !p.IssuedAt.Equal(want.IssuedAt) || !p.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("times %v..%v, want %v..%v", p.IssuedAt, p.ExpiresAt, want.IssuedAt, want.ExpiresAt)
	}
	p.IssuedAt, p.ExpiresAt, want.IssuedAt, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if p != want {
		t.Fatalf("principal %+v, want %+v", p, want)
	}

	if _, err := v.Verify(context.Background(), mint(now.Add(-3*time.Hour), time.Hour)); !apperr.Is(err, apperr.TokenExpired) {
		t.Fatalf("expired: %v", err)
	}
	down = true
	_, err = v.Verify(context.Background(), mint(now, time.Hour))
	if ae := apperr.From(err); ae.Code != apperr.UpstreamUnavailable || ae.Status() != 503 {
		t.Fatalf("key set unavailable: %v, want 503 UPSTREAM_UNAVAILABLE", err)
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"Token abc", "", false},
		{"Bearerabc", "", false},
	}
	for _, tc := range cases {
		got, err := bearer(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("bearer(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !apperr.Is(err, apperr.Unauthenticated) {
			t.Errorf("bearer(%q) code %s", tc.in, apperr.CodeOf(err))
		}
	}
}

func TestNewVerifierWithKeyfuncValidates(t *testing.T) {
	t.Parallel()
	if _, err := NewVerifierWithKeyfunc(Config{Issuer: "x", Audience: "y"}, nil); err == nil {
		t.Error("nil keyfunc accepted")
	}
	if _, err := NewVerifierWithKeyfunc(Config{Audience: "y"}, func(*jwt.Token) (any, error) { return nil, nil }); err == nil {
		t.Error("empty issuer accepted")
	}
}

// TestVerifiedTokensAreRemembered: a token that verified is recognised
// without the key set for a minute, never past its exp, and only as the
// exact bytes that verified.
func TestVerifiedTokensAreRemembered(t *testing.T) {
	t.Parallel()
	is := newTestIssuer(t)
	var lookups atomic.Int32
	down := atomic.Bool{}
	v := is.verifier(t, func(*jwt.Token) (any, error) {
		lookups.Add(1)
		if down.Load() {
			return nil, fmt.Errorf("fetch: %w", ErrKeySetUnavailable)
		}
		return &is.key.PublicKey, nil
	})
	start := time.Now()
	var clock atomic.Int64
	clock.Store(int64(0))
	v.now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	mint := func(ttl time.Duration) string {
		return is.mint(t, ids.New(ids.Operator), ids.New(ids.Tenant), ids.New(ids.Device), "j", start, ttl)
	}
	tok := mint(time.Hour)
	first, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent repeats are answered from memory, even with the key set gone.
	down.Store(true)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if p, err := v.Verify(context.Background(), tok); err != nil || p != first {
				t.Errorf("repeat = %+v, %v; want %+v", p, err, first)
			}
		})
	}
	wg.Wait()
	if n := lookups.Load(); n != 1 {
		t.Fatalf("key lookups = %d, want 1", n)
	}
	// A changed byte is another token: verified, and refused.
	forged := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")]
	if _, err := v.Verify(context.Background(), forged); err == nil {
		t.Fatal("a token differing from the remembered one was accepted")
	}
	// Past a minute it is verified again (and the key set is down: 503).
	clock.Store(int64(verifiedTTL + time.Second))
	if _, err := v.Verify(context.Background(), tok); !apperr.Is(err, apperr.UpstreamUnavailable) {
		t.Fatalf("after the cache TTL: %v, want the key set consulted again", err)
	}
	// Never past exp: a token expiring in 30 s is remembered 30 s at most.
	clock.Store(0)
	down.Store(false)
	short := mint(30 * time.Second)
	if _, err := v.Verify(context.Background(), short); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	clock.Store(int64(31 * time.Second))
	if _, err := v.Verify(context.Background(), short); err == nil {
		t.Fatal("a remembered token was accepted past its exp")
	}
}

// TestTokenLifetime: a token living longer than 12 h, or issued more than
// 60 s in the future, is refused (401), so sign-out and revocation cutoffs
// outlive every token they cut.
func TestTokenLifetime(t *testing.T) {
	t.Parallel()
	is := newTestIssuer(t)
	v := is.verifier(t, func(*jwt.Token) (any, error) { return &is.key.PublicKey, nil })
	now := time.Now().Truncate(time.Second)
	v.now = func() time.Time { return now }
	mint := func(iat time.Time, ttl time.Duration) string {
		return is.mint(t, ids.New(ids.Operator), ids.New(ids.Tenant), ids.New(ids.Device), ids.New(ids.Event), iat, ttl)
	}
	cases := []struct {
		name string
		iat  time.Time
		ttl  time.Duration
		want apperr.Code // "" accepted
	}{
		{"12 h token", now, 12 * time.Hour, ""},
		{"12 h and a second", now, 12*time.Hour + time.Second, apperr.Unauthenticated},
		{"48 h token", now.Add(-time.Hour), 48 * time.Hour, apperr.Unauthenticated},
		{"48 h token issued 30 h ago", now.Add(-30 * time.Hour), 48 * time.Hour, apperr.Unauthenticated},
		{"iat 60 s ahead", now.Add(60 * time.Second), time.Hour, ""},
		{"iat 61 s ahead", now.Add(61 * time.Second), time.Hour, apperr.Unauthenticated},
		{"iat a day ahead", now.Add(24 * time.Hour), time.Hour, apperr.Unauthenticated},
	}
	for _, tc := range cases {
		_, err := v.Verify(context.Background(), mint(tc.iat, tc.ttl))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want accepted", tc.name, err)
			}
			continue
		}
		if !apperr.Is(err, tc.want) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}
