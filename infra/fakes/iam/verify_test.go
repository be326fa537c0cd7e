package iam_test

// The BFF's token verifier (shared/auth) against the fake iam-service over
// real HTTP: iam-service's JWKS is the surface the verifier depends on.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

type rig struct {
	iam *iam.IAM
	srv *httptest.Server
	cfg auth.Config
}

func newRig(t *testing.T) *rig {
	t.Helper()
	s, err := iam.NewDev()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Fake().Close()
		srv.Close()
	})
	return &rig{iam: s, srv: srv, cfg: auth.Config{
		JWKSURL:  srv.URL + iam.JWKSPath,
		Issuer:   s.Issuer(),
		Audience: auth.DefaultAudience,
	}}
}

func (r *rig) verifier(t *testing.T, opts ...auth.Option) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), r.cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func (r *rig) fault(t *testing.T, f fakes.Fault) {
	t.Helper()
	if err := r.iam.Fake().SetFault(f); err != nil {
		t.Fatal(err)
	}
}

type subject struct{ tenant, operator, device string }

func newSubject() subject {
	return subject{ids.New(ids.Tenant), ids.New(ids.Operator), ids.New(ids.Device)}
}

func (s subject) claims() iam.Claims {
	return iam.Claims{TenantID: s.tenant, OperatorID: s.operator, DeviceID: s.device}
}

// mustFn returns a helper that unwraps (token, error) or fails t.
func mustFn(t *testing.T) func(string, error) string {
	return func(tok string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

func codeOf(err error) apperr.Code {
	if err == nil {
		return ""
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return "not an *apperr.Error"
	}
	return ae.Code
}

func TestVerify(t *testing.T) {
	t.Parallel()
	must := mustFn(t)
	r := newRig(t)
	v := r.verifier(t)
	who := newSubject()
	now := time.Now()

	// std returns the standard claims of who, edited by fn.
	std := func(ttl time.Duration, fn func(jwt.MapClaims)) jwt.MapClaims {
		c := r.iam.StandardClaims(who.claims(), ttl)
		if fn != nil {
			fn(c)
		}
		return c
	}
	es := func(c jwt.MapClaims) string { return must(r.iam.MintWith(iam.ES256, "", c)) }
	ed := func(c jwt.MapClaims) string { return must(r.iam.MintWith(iam.EdDSA, "", c)) }
	issuedAgo := func(ago, ttl time.Duration) string {
		c := who.claims()
		c.IssuedAt = now.Add(-ago)
		return must(r.iam.Mint(c, ttl))
	}

	esKID := r.iam.KID(iam.ES256)
	esPub, err := r.iam.PublicKey(esKID)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(esPub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs256 := func(secret []byte) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS256, std(time.Hour, nil))
		tk.Header["kid"] = esKID
		return must(tk.SignedString(secret))
	}
	none := func() string {
		tk := jwt.NewWithClaims(jwt.SigningMethodNone, std(time.Hour, nil))
		tk.Header["kid"] = esKID
		return must(tk.SignedString(jwt.UnsafeAllowNoneSignatureType))
	}
	forged := func() string {
		// Right kid, wrong key: someone else's P-256 key.
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tk := jwt.NewWithClaims(jwt.SigningMethodES256, std(time.Hour, nil))
		tk.Header["kid"] = esKID
		return must(tk.SignedString(k))
	}
	algKeyMismatch := func() string {
		// EdDSA token pointing at the ES256 key's kid.
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tk := jwt.NewWithClaims(jwt.SigningMethodEdDSA, std(time.Hour, nil))
		tk.Header["kid"] = esKID
		return must(tk.SignedString(k))
	}
	noKID := func() string {
		tk := jwt.NewWithClaims(jwt.SigningMethodES256, std(time.Hour, nil))
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return must(tk.SignedString(k))
	}
	tampered := func() string {
		parts := strings.Split(es(std(time.Hour, nil)), ".")
		other := strings.Split(es(std(2*time.Hour, nil)), ".")
		return parts[0] + "." + other[1] + "." + parts[2]
	}
	unknownKID, err := r.iam.AddKey(iam.ES256, false)
	if err != nil {
		t.Fatal(err)
	}

	const (
		ok      = apperr.Code("")
		unauth  = apperr.Unauthenticated
		expired = apperr.TokenExpired
	)
	cases := []struct {
		name       string
		header     string
		want       apperr.Code
		wantDetail string
	}{
		{"valid ES256", "Bearer " + es(std(time.Hour, nil)), ok, ""},
		{"valid EdDSA", "Bearer " + ed(std(time.Hour, nil)), ok, ""},
		{"scheme is case-insensitive", "bearer " + es(std(time.Hour, nil)), ok, ""},
		{"audience list containing ours", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) {
			c["aud"] = []string{"melmastoon-other", auth.DefaultAudience}
		})), ok, ""},

		{"expired beyond skew", "Bearer " + issuedAgo(2*time.Hour, time.Hour), expired, "expired"},
		{"expired 90 s ago", "Bearer " + issuedAgo(time.Hour+90*time.Second, time.Hour), expired, "expired"},
		{"expired within skew", "Bearer " + issuedAgo(time.Hour+30*time.Second, time.Hour), ok, ""},
		{"expired and wrong audience", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) {
			c["exp"] = now.Add(-time.Hour).Unix()
			c["iat"] = now.Add(-2 * time.Hour).Unix()
			c["aud"] = "someone-else"
		})), unauth, "audience"},
		{"nbf in the future beyond skew", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) {
			c["nbf"] = now.Add(5 * time.Minute).Unix()
		})), unauth, "not valid yet"},
		{"nbf within skew", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) {
			c["nbf"] = now.Add(30 * time.Second).Unix()
		})), ok, ""},
		{"iat in the future beyond skew", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) {
			c["iat"] = now.Add(5 * time.Minute).Unix()
		})), unauth, "future"},
		{"iat within skew", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) {
			c["iat"] = now.Add(30 * time.Second).Unix()
		})), ok, ""},

		{"alg none", "Bearer " + none(), unauth, "algorithm"},
		{"HS256 keyed with the public key PEM", "Bearer " + hs256(pubPEM), unauth, "algorithm"},
		{"HS256 keyed with the public key DER", "Bearer " + hs256(der), unauth, "algorithm"},
		{"forged with another key", "Bearer " + forged(), unauth, "signature"},
		{"tampered payload", "Bearer " + tampered(), unauth, "signature"},
		{"EdDSA token naming an ES256 key", "Bearer " + algKeyMismatch(), unauth, ""},
		{"no kid", "Bearer " + noKID(), unauth, "kid"},
		{"unknown kid after refresh", "Bearer " + must(r.iam.MintWith(iam.ES256, unknownKID, std(time.Hour, nil))), unauth, "signing key"},

		{"wrong audience", "Bearer " + must(r.iam.Mint(iam.Claims{TenantID: who.tenant, OperatorID: who.operator, DeviceID: who.device, Audience: "melmastoon-bff-guest"}, time.Hour)), unauth, "audience"},
		{"no audience", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { delete(c, "aud") })), unauth, "aud"},
		{"no issuer", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { delete(c, "iss") })), unauth, "iss"},
		{"wrong issuer", "Bearer " + must(r.iam.Mint(iam.Claims{TenantID: who.tenant, OperatorID: who.operator, DeviceID: who.device, Issuer: "https://evil.example"}, time.Hour)), unauth, "issuer"},
		{"no exp", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { delete(c, "exp") })), unauth, "exp"},
		{"no iat", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { delete(c, "iat") })), unauth, "iat"},
		{"no jti", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { delete(c, "jti") })), unauth, "jti"},
		{"no cnf", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { delete(c, "cnf") })), unauth, "cnf"},
		{"cnf without kid", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { c["cnf"] = map[string]any{"jkt": "abc"} })), unauth, "cnf"},
		{"cnf not an object", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { c["cnf"] = who.device })), unauth, "malformed"},
		{"cnf.kid not a device id", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { c["cnf"] = map[string]any{"kid": who.operator} })), unauth, "cnf.kid"},
		{"sub not an operator id", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { c["sub"] = "user-42" })), unauth, "sub"},
		{"sub with a device prefix", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { c["sub"] = who.device })), unauth, "sub"},
		{"tid malformed", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { c["tid"] = "ten_123" })), unauth, "tid"},
		{"no tid", "Bearer " + es(std(time.Hour, func(c jwt.MapClaims) { delete(c, "tid") })), unauth, "tid"},

		{"no header", "", unauth, "missing"},
		{"basic scheme", "Basic dXNlcjpwYXNz", unauth, "Bearer"},
		{"bearer without token", "Bearer ", unauth, ""},
		{"not a JWT", "Bearer not-a-jwt", unauth, "malformed"},
		{"garbage segments", "Bearer a.b.c", unauth, "malformed"},
		{"header too long", "Bearer " + strings.Repeat("a", 9000), unauth, "too long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := v.Verify(context.Background(), tc.header)
			if got := codeOf(err); got != tc.want {
				t.Fatalf("Verify: code %q (err %v), want %q", got, err, tc.want)
			}
			if err != nil {
				ae := apperr.From(err)
				if !strings.Contains(ae.Detail, tc.wantDetail) {
					t.Errorf("detail %q does not mention %q", ae.Detail, tc.wantDetail)
				}
				if tok, _ := strings.CutPrefix(tc.header, "Bearer "); len(tok) > 20 && strings.Contains(ae.Detail, tok[:20]) {
					t.Errorf("detail %q echoes the token", ae.Detail)
				}
				if tc.want == unauth && ae.Status() != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", ae.Status())
				}
				return
			}
			if p.TenantID != who.tenant || p.OperatorID != who.operator || p.DeviceID != who.device || p.TokenID == "" {
				t.Errorf("principal = %+v, want %+v", p, who)
			}
			if p.IssuedAt.IsZero() || !p.ExpiresAt.After(p.IssuedAt) {
				t.Errorf("principal times = %v .. %v", p.IssuedAt, p.ExpiresAt)
			}
		})
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{iam.ES256, iam.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			must := mustFn(t)
			r := newRig(t)
			v := r.verifier(t)
			who := newSubject()
			old := "Bearer " + must(r.iam.Mint(who.claims(), time.Hour))
			if _, err := v.Verify(context.Background(), old); err != nil {
				t.Fatalf("before rotation: %v", err)
			}
			fetches := r.iam.Fake().Count(http.MethodGet, iam.JWKSPath)

			// A key published after the verifier loaded the JWKS is found
			// by the refresh its unknown kid triggers, on the first try.
			kid, err := r.iam.AddKey(alg, true)
			if err != nil {
				t.Fatal(err)
			}
			tok := "Bearer " + must(r.iam.MintWith(alg, kid, r.iam.StandardClaims(who.claims(), time.Hour)))
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatalf("token signed by the rotated-in key %s: %v", kid, err)
			}
			if got := r.iam.Fake().Count(http.MethodGet, iam.JWKSPath); got != fetches+1 {
				t.Fatalf("JWKS fetched %d times, want %d (one refresh)", got, fetches+1)
			}
			// Known keys are served from the cache: no more fetches.
			for range 5 {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Fatal(err)
				}
				if _, err := v.Verify(context.Background(), old); err != nil {
					t.Fatalf("old key during the overlap: %v", err)
				}
			}
			if got := r.iam.Fake().Count(http.MethodGet, iam.JWKSPath); got != fetches+1 {
				t.Fatalf("JWKS fetched %d times, want the cache to serve known kids", got)
			}
		})
	}
}

func TestVerifyIdentityProviderDown(t *testing.T) {
	t.Parallel()
	must := mustFn(t)
	r := newRig(t)
	who := newSubject()
	tok := "Bearer " + must(r.iam.Mint(who.claims(), time.Hour))

	// iam-service is down when the instance starts: start-up succeeds and
	// requests get 503, not 401, until the JWKS is reachable again.
	r.fault(t, fakes.Fault{Path: iam.JWKSPath, ErrorRate: 1})
	v := r.verifier(t)
	var wg sync.WaitGroup
	codes := make(chan apperr.Code, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			codes <- codeOf(err)
		})
	}
	wg.Wait()
	close(codes)
	for got := range codes {
		if got != apperr.UpstreamUnavailable {
			t.Fatalf("JWKS down: code %q, want %q", got, apperr.UpstreamUnavailable)
		}
	}
	// A burst of 20 must not become 20 fetches: the start-up fetch plus
	// one rate-limited refresh.
	if n := r.iam.Fake().Count(http.MethodGet, iam.JWKSPath); n > 2 {
		t.Fatalf("%d JWKS fetches for the outage burst; refresh is not rate limited", n)
	}
}

func TestVerifyRecoversAfterOutage(t *testing.T) {
	t.Parallel()
	must := mustFn(t)
	r := newRig(t)
	who := newSubject()
	tok := "Bearer " + must(r.iam.Mint(who.claims(), time.Hour))
	r.fault(t, fakes.Fault{Path: iam.JWKSPath, ErrorRate: 1})
	v := r.verifier(t, auth.WithUnknownKIDRefreshEvery(200*time.Millisecond))
	if _, err := v.Verify(context.Background(), tok); codeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("JWKS down: %v, want %q", err, apperr.UpstreamUnavailable)
	}

	r.iam.Fake().ClearFaults()
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err = v.Verify(context.Background(), tok); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("after iam-service recovered: %v", err)
	}

	// Down again after keys are cached: known keys keep working, an
	// unknown kid cannot be told from a rotation and is a 503.
	r.fault(t, fakes.Fault{Path: iam.JWKSPath, ErrorRate: 1})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("cached key during an outage: %v", err)
	}
	kid, err := r.iam.AddKey(iam.ES256, true)
	if err != nil {
		t.Fatal(err)
	}
	rotated := "Bearer " + must(r.iam.MintWith(iam.ES256, kid, r.iam.StandardClaims(who.claims(), time.Hour)))
	// Once the refresh limiter lets a refresh through, the failed fetch
	// answers 503 (before that, the unknown kid is refused unrefreshed).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(context.Background(), rotated)
		if codeOf(err) == apperr.UpstreamUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unknown kid while the JWKS is down: %v, want %q", err, apperr.UpstreamUnavailable)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestVerifierStartsWhenJWKSHangs(t *testing.T) {
	t.Parallel()
	must := mustFn(t)
	r := newRig(t)
	r.fault(t, fakes.Fault{Path: iam.JWKSPath, Hang: true})
	start := time.Now()
	v := r.verifier(t, auth.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("NewVerifier took %v with a hung JWKS", d)
	}
	tok := "Bearer " + must(r.iam.Mint(newSubject().claims(), time.Hour))
	if _, err := v.Verify(context.Background(), tok); codeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("Verify with a hung JWKS: %v, want %q", err, apperr.UpstreamUnavailable)
	}
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cases := []auth.Config{
		{JWKSURL: "", Issuer: iam.DefaultIssuer, Audience: auth.DefaultAudience},
		{JWKSURL: "ftp://iam/jwks", Issuer: iam.DefaultIssuer, Audience: auth.DefaultAudience},
		{JWKSURL: "/relative/jwks.json", Issuer: iam.DefaultIssuer, Audience: auth.DefaultAudience},
		{JWKSURL: "http://iam/jwks", Issuer: "", Audience: auth.DefaultAudience},
		{JWKSURL: "http://iam/jwks", Issuer: iam.DefaultIssuer, Audience: ""},
	}
	for i, cfg := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			if v, err := auth.NewVerifier(context.Background(), cfg); err == nil {
				v.Close()
				t.Fatalf("NewVerifier(%+v) succeeded", cfg)
			}
		})
	}
}

func TestVerifyConcurrently(t *testing.T) {
	t.Parallel()
	must := mustFn(t)
	r := newRig(t)
	v := r.verifier(t, auth.WithUnknownKIDRefreshEvery(10*time.Millisecond))
	who := newSubject()
	good := "Bearer " + must(r.iam.Mint(who.claims(), time.Hour))
	goodEd := "Bearer " + must(r.iam.MintWith(iam.EdDSA, "", r.iam.StandardClaims(who.claims(), time.Hour)))
	old := who.claims()
	old.IssuedAt = time.Now().Add(-3 * time.Hour)
	expired := "Bearer " + must(r.iam.Mint(old, time.Hour))
	wrongAud := "Bearer " + must(r.iam.Mint(iam.Claims{TenantID: who.tenant, OperatorID: who.operator, DeviceID: who.device, Audience: "x"}, time.Hour))

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 32 {
		wg.Go(func() {
			for i := range 40 {
				var tok string
				var want apperr.Code
				switch (w + i) % 4 {
				case 0:
					tok = good
				case 1:
					tok = goodEd
				case 2:
					tok, want = expired, apperr.TokenExpired
				case 3:
					tok, want = wrongAud, apperr.Unauthenticated
				}
				p, err := v.Verify(context.Background(), tok)
				if got := codeOf(err); got != want || (err == nil && p.OperatorID != who.operator) {
					select {
					case errs <- fmt.Errorf("worker %d: code %q, want %q (%v)", w, got, want, err):
					default:
					}
					return
				}
			}
		})
	}
	// A rotation in the middle of it all.
	wg.Go(func() {
		kid, err := r.iam.AddKey(iam.ES256, true)
		if err != nil {
			errs <- err
			return
		}
		signed, err := r.iam.MintWith(iam.ES256, kid, r.iam.StandardClaims(who.claims(), time.Hour))
		if err != nil {
			errs <- err
			return
		}
		tok := "Bearer " + signed
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err = v.Verify(context.Background(), tok); err == nil {
				return
			}
			if time.Now().After(deadline) {
				errs <- fmt.Errorf("rotated key never accepted: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
