package iam_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
)

func TestJWKS(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	resp, err := http.Get(r.srv.URL + iam.JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s = %d %s", iam.JWKSPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("%d keys, want 2", len(set.Keys))
	}
	want := map[string]map[string]string{
		iam.ES256: {"kty": "EC", "crv": "P-256", "use": "sig"},
		iam.EdDSA: {"kty": "OKP", "crv": "Ed25519", "use": "sig"},
	}
	for _, k := range set.Keys {
		w, ok := want[k["alg"]]
		if !ok {
			t.Fatalf("unexpected alg in %v", k)
		}
		for f, v := range w {
			if k[f] != v {
				t.Errorf("%s key: %s = %q, want %q", k["alg"], f, k[f], v)
			}
		}
		if k["kid"] != r.iam.KID(k["alg"]) || k["x"] == "" {
			t.Errorf("%s key: kid %q (want %q), x %q", k["alg"], k["kid"], r.iam.KID(k["alg"]), k["x"])
		}
		for _, private := range []string{"d", "p", "q"} {
			if _, ok := k[private]; ok {
				t.Errorf("%s key publishes private member %q", k["alg"], private)
			}
		}
	}
	// Withdrawn and unpublished keys are not served.
	kid, err := r.iam.AddKey(iam.ES256, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range r.iam.JWKS() {
		if j.Kid == kid {
			t.Fatal("unpublished key is in the JWKS")
		}
	}
	if err := r.iam.Publish(kid, true); err != nil {
		t.Fatal(err)
	}
	if n := len(r.iam.JWKS()); n != 3 {
		t.Fatalf("%d keys after publishing, want 3", n)
	}
}

func TestDevKeysAreStable(t *testing.T) {
	t.Parallel()
	a, err := iam.NewDev()
	if err != nil {
		t.Fatal(err)
	}
	b, err := iam.NewDev()
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{iam.ES256, iam.EdDSA} {
		if a.KID(alg) == "" || a.KID(alg) != b.KID(alg) {
			t.Errorf("%s kid %q vs %q: want the same non-empty kid from the same key file", alg, a.KID(alg), b.KID(alg))
		}
		if f := a.KeyFile(alg); !strings.HasPrefix(filepath.Base(f), "iam-dev-") {
			t.Errorf("%s key file %q", alg, f)
		}
	}
	eph, err := iam.New(iam.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if eph.KID(iam.ES256) == a.KID(iam.ES256) || eph.KeyFile(iam.ES256) != "" {
		t.Error("a fake without KeysDir must use fresh keys")
	}
	if _, err := iam.New(iam.Config{KeysDir: t.TempDir()}); err == nil {
		t.Error("New with an empty keys directory succeeded")
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	v := r.verifier(t)
	who := newSubject()
	post := func(t *testing.T, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(r.srv.URL+"/v1/tokens", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ids := `"tenantId":"` + who.tenant + `","operatorId":"` + who.operator + `","deviceId":"` + who.device + `"`

	cases := []struct {
		name     string
		body     string
		status   int
		wantCode apperr.Code // of verifying the minted token
		ttl      time.Duration
	}{
		{"12 h device token", `{` + ids + `,"ttlSeconds":43200}`, 200, "", 12 * time.Hour},
		{"default ttl", `{` + ids + `}`, 200, "", iam.DefaultTTL},
		{"EdDSA", `{` + ids + `,"ttlSeconds":60,"alg":"EdDSA"}`, 200, "", time.Minute},
		{"expired via issuedAt", `{` + ids + `,"ttlSeconds":60,"issuedAt":"2026-01-01T00:00:00.000Z"}`, 200, apperr.TokenExpired, 0},
		{"wrong audience", `{` + ids + `,"ttlSeconds":60,"audience":"melmastoon-bff-guest"}`, 200, apperr.Unauthenticated, 0},
		{"bad tenant id", `{"tenantId":"acme","operatorId":"` + who.operator + `","deviceId":"` + who.device + `"}`, 400, "", 0},
		{"device id as operator", `{"tenantId":"` + who.tenant + `","operatorId":"` + who.device + `","deviceId":"` + who.device + `"}`, 400, "", 0},
		{"negative ttl", `{` + ids + `,"ttlSeconds":-5}`, 400, "", 0},
		{"unknown alg", `{` + ids + `,"alg":"HS256"}`, 400, "", 0},
		{"unknown field", `{` + ids + `,"scope":"all"}`, 400, "", 0},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				status, body := post(t, tc.body)
				if status != tc.status {
					t.Fatalf("status %d (%s), want %d", status, body, tc.status)
				}
				if status != http.StatusOK {
					if !strings.Contains(body, `"code":"MELMASTOON.IAM.VALIDATION_FAILED"`) {
						t.Fatalf("error body %s", body)
					}
					return
				}
				var out map[string]string
				if err := json.Unmarshal([]byte(body), &out); err != nil || len(out) != 1 || out["token"] == "" {
					t.Fatalf("body %s, want exactly {token}", body)
				}
				p, err := v.Verify(context.Background(), "Bearer "+out["token"])
				if codeOf(err) != tc.wantCode {
					t.Fatalf("verify minted token: %v, want %q", err, tc.wantCode)
				}
				if err == nil {
					if got := p.ExpiresAt.Sub(p.IssuedAt); got != tc.ttl {
						t.Errorf("lifetime %v, want %v", got, tc.ttl)
					}
					if p.DeviceID != who.device {
						t.Errorf("device %s, want %s", p.DeviceID, who.device)
					}
				}
			})
		}
	})
	if n := r.iam.Fake().Count(http.MethodPost, "/v1/tokens"); n != int64(len(cases)) {
		t.Fatalf("POST /v1/tokens counted %d, want %d", n, len(cases))
	}
}

func TestMintWithRejectsMismatchedKey(t *testing.T) {
	t.Parallel()
	s, err := iam.New(iam.Config{})
	if err != nil {
		t.Fatal(err)
	}
	claims := s.StandardClaims(newSubject().claims(), time.Hour)
	if _, err := s.MintWith(iam.EdDSA, s.KID(iam.ES256), claims); err == nil {
		t.Error("signed EdDSA with the ES256 key")
	}
	if _, err := s.MintWith(iam.ES256, "no-such-kid", claims); err == nil {
		t.Error("signed with a key that does not exist")
	}
}
