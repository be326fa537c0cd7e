package iam_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
)

func postJSON(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (s subject) body(extra map[string]any) map[string]any {
	m := map[string]any{"tenantId": s.tenant, "operatorId": s.operator, "deviceId": s.device}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestMFAChallengeAndVerify(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	sub := newSubject()
	challenge := func() string {
		t.Helper()
		st, out := postJSON(t, r.srv.URL+"/v1/mfa/challenges", sub.body(map[string]any{"scope": "lock_revoke", "factor": "totp"}))
		if st != http.StatusCreated || out["challengeId"] == "" || out["scope"] != "lock_revoke" || out["expiresAt"] == nil {
			t.Fatalf("challenge = %d %v", st, out)
		}
		return out["challengeId"].(string)
	}
	verifyURL := func(id string) string { return r.srv.URL + "/v1/mfa/challenges/" + id + "/verify" }

	id := challenge()
	// Another operator cannot verify it, and learns nothing about it.
	other := newSubject()
	if st, out := postJSON(t, verifyURL(id), other.body(map[string]any{"code": r.iam.MFADevCode()})); st != http.StatusNotFound {
		t.Fatalf("other operator's verify = %d %v", st, out)
	}
	st, out := postJSON(t, verifyURL(id), sub.body(map[string]any{"code": r.iam.MFADevCode()}))
	if st != http.StatusOK || out["attestationToken"] == "" || out["factor"] != "totp" {
		t.Fatalf("verify = %d %v", st, out)
	}
	// A used challenge is dead.
	if st, _ := postJSON(t, verifyURL(id), sub.body(map[string]any{"code": r.iam.MFADevCode()})); st != http.StatusGone {
		t.Fatalf("second verify = %d, want 410", st)
	}
	if r.iam.MFAVerifications() != 1 {
		t.Fatalf("verifications = %d", r.iam.MFAVerifications())
	}

	// Five wrong codes kill a challenge; the right one comes too late.
	id = challenge()
	for i := 1; i <= iam.MFAMaxAttempts; i++ {
		st, out := postJSON(t, verifyURL(id), sub.body(map[string]any{"code": "000000"}))
		if st != http.StatusUnprocessableEntity || out["code"] != "MELMASTOON.IAM.MFA_CODE_INVALID" || out["attemptsLeft"] != float64(iam.MFAMaxAttempts-i) {
			t.Fatalf("wrong code %d = %d %v", i, st, out)
		}
	}
	if st, out := postJSON(t, verifyURL(id), sub.body(map[string]any{"code": r.iam.MFADevCode()})); st != http.StatusGone {
		t.Fatalf("verify after 5 wrong codes = %d %v", st, out)
	}

	// Bad requests.
	for _, b := range []map[string]any{
		sub.body(map[string]any{"scope": "open_all_doors", "factor": "totp"}),
		sub.body(map[string]any{"scope": "refund", "factor": "carrier_pigeon"}),
		{"tenantId": "x", "operatorId": sub.operator, "deviceId": sub.device, "scope": "refund", "factor": "sms"},
	} {
		if st, _ := postJSON(t, r.srv.URL+"/v1/mfa/challenges", b); st != http.StatusBadRequest {
			t.Errorf("challenge %v = %d, want 400", b, st)
		}
	}
}

func TestMFADevCodeIsConfigurable(t *testing.T) {
	t.Parallel()
	s, err := iam.New(iam.Config{MFADevCode: "135790"})
	if err != nil {
		t.Fatal(err)
	}
	if s.MFADevCode() != "135790" {
		t.Fatalf("dev code %q", s.MFADevCode())
	}
	d, _ := iam.New(iam.Config{})
	if d.MFADevCode() != iam.DefaultMFADevCode {
		t.Fatalf("default dev code %q", d.MFADevCode())
	}
}
