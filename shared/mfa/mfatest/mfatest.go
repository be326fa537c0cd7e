// Package mfatest is iam-service's MFA contract as a stub, for the tests
// of what challenges or spends attestations (the full fake lives in
// infra/fakes/iam, which this module cannot import).
package mfatest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/upstream/iam"
)

// GoodCode is the one code the stub accepts.
const GoodCode = "123456"

// IAM answers any challenge and the one good code; 503 while Down. A
// wrong code's refusal carries text the BFF must never show.
type IAM struct {
	Verifies atomic.Int64 // verifications received
	Down     atomic.Bool
	Secret   string // iam-service's own attestation token
}

func (s *IAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.Down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	if strings.HasSuffix(r.URL.Path, "/verify") {
		s.Verifies.Add(1)
		if body["code"] != GoodCode {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"code":"MELMASTOON.IAM.MFA_CODE_INVALID","detail":"upstream text never shown"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"attestationToken": s.Secret, "factor": "totp", "verifiedAt": time.Now().UTC().Format(time.RFC3339Nano)})
		return
	}
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"challengeId": "chl_" + ids.New(ids.Event)[4:], "scope": body["scope"], "factor": body["factor"],
		"expiresAt": time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339Nano),
	})
}

// Start serves a new stub for the length of t and returns it with an
// iam-service client of it.
func Start(t testing.TB) (*IAM, *iam.Client) {
	t.Helper()
	s := &IAM{Secret: "iamatt_SECRET_" + ids.New(ids.Event)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := iam.NewClient(iam.Config{URL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// Challenge opens a challenge of scope for a, failing t if it cannot.
func Challenge(t testing.TB, svc *mfa.Service, a actor.Actor, scope mfa.Scope, factor string) mfa.Challenge {
	t.Helper()
	c, _, err := svc.Challenge(context.Background(), a, mfa.ChallengeRequest{Scope: scope, Factor: factor})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Attest challenges and verifies scope for a: an attestation to spend.
func Attest(t testing.TB, svc *mfa.Service, a actor.Actor, scope mfa.Scope) mfa.Attestation {
	t.Helper()
	c := Challenge(t, svc, a, scope, "totp")
	att, _, err := svc.Verify(context.Background(), a, c.ChallengeID, mfa.VerifyRequest{Code: GoodCode})
	if err != nil {
		t.Fatal(err)
	}
	return att
}
