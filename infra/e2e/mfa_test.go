package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// TestMFAChallengeAndVerify walks step-up MFA end to end through the dev
// server and the fake iam-service: roles per scope, wrong codes with the
// attempts left, the attestation, replays by Idempotency-Key, and the
// activity rows — with iam-service's token in no answer.
func TestMFAChallengeAndVerify(t *testing.T) {
	e := newEnv(t)
	tn, fd := e.operator(0, hasRole(fd))
	_, mgr := e.operator(0, hasRole(mg))
	fdTok, mgrTok := e.mint(tn, fd, 0, nil), e.mint(tn, mgr, 0, nil)
	key := func() []string { return []string{"Idempotency-Key", ids.New("mfa")} }

	// A front desk operator may not take refunds, so may not be challenged for one.
	if res := e.do("POST", "/v1/mfa/challenges", fdTok, `{"scope":"refund","factor":"totp"}`, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE" {
		t.Fatalf("front desk refund challenge: HTTP %d %s", res.StatusCode, res.body)
	}
	if n := e.srv.IAM.Fake().Count("POST", "/v1/mfa/challenges"); n != 0 {
		t.Fatalf("a refused challenge reached iam-service (%d calls)", n)
	}

	challenge := func(tok, scope string) string {
		t.Helper()
		res := e.do("POST", "/v1/mfa/challenges", tok, fmt.Sprintf(`{"scope":%q,"factor":"sms"}`, scope), key()...)
		var ch struct{ ChallengeID, Scope, Factor, ExpiresAt string }
		res.json(t, &ch)
		if res.StatusCode != 201 || ch.Scope != scope || ch.Factor != "sms" || ch.ChallengeID == "" {
			t.Fatalf("challenge: HTTP %d %s", res.StatusCode, res.body)
		}
		return ch.ChallengeID
	}
	id := challenge(mgrTok, "refund")
	verify := func(tok, id, code string, hdr ...string) resp {
		if hdr == nil {
			hdr = key()
		}
		return e.do("POST", "/v1/mfa/challenges/"+id+"/verify", tok, fmt.Sprintf(`{"code":%q}`, code), hdr...)
	}
	// The front desk operator cannot verify the manager's challenge.
	if res := verify(fdTok, id, e.srv.IAM.MFADevCode()); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID" {
		t.Fatalf("someone else's challenge: HTTP %d %s", res.StatusCode, res.body)
	}
	res := verify(mgrTok, id, "000000")
	if res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID" || !strings.Contains(string(res.body), "4 attempts left") {
		t.Fatalf("wrong code: HTTP %d %s", res.StatusCode, res.body)
	}
	hdr := key()
	res = verify(mgrTok, id, e.srv.IAM.MFADevCode(), hdr...)
	var att struct{ ID, Scope, Factor, AttestedAt, ExpiresAt string }
	res.json(t, &att)
	if res.StatusCode != 201 || ids.Check(ids.MfaAttestation, att.ID) != nil || att.Scope != "refund" || att.Factor != "sms" {
		t.Fatalf("verify: HTTP %d %s", res.StatusCode, res.body)
	}
	if strings.Contains(string(res.body), "iamatt_") || strings.Contains(strings.ToLower(string(res.body)), "token") {
		t.Fatalf("the answer carries iam-service's token: %s", res.body)
	}
	// The replay of the same verification gets the same attestation, and
	// iam-service is not asked again.
	before := e.srv.IAM.MFAVerifications()
	again := verify(mgrTok, id, e.srv.IAM.MFADevCode(), hdr...)
	if again.StatusCode != 201 || string(again.body) != string(res.body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: HTTP %d %s (%v)", again.StatusCode, again.body, again.Header)
	}
	if e.srv.IAM.MFAVerifications() != before {
		t.Fatal("the replay reached iam-service")
	}
	// A new verification (another key) of a verified challenge is refused.
	if res := verify(mgrTok, id, e.srv.IAM.MFADevCode()); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID" {
		t.Fatalf("second verification: HTTP %d %s", res.StatusCode, res.body)
	}

	// Five wrong codes close a challenge: the right one is refused after.
	id = challenge(fdTok, "lock_revoke")
	for i := 1; i <= 5; i++ {
		res := verify(fdTok, id, "111111")
		if res.StatusCode != 403 || !strings.Contains(string(res.body), fmt.Sprintf("%d attempts left", 5-i)) {
			t.Fatalf("wrong code %d: HTTP %d %s", i, res.StatusCode, res.body)
		}
	}
	if res := verify(fdTok, id, e.srv.IAM.MFADevCode()); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID" {
		t.Fatalf("after 5 wrong codes: HTTP %d %s", res.StatusCode, res.body)
	}

	// Every step left its auth row.
	var actions []string
	for _, r := range e.activity(tn.ID) {
		if r.Category == string(activity.CategoryAuth) && strings.HasPrefix(r.Action, "mfa_challenge.") {
			actions = append(actions, r.Action+"/"+r.Outcome)
		}
	}
	for _, want := range []string{"mfa_challenge.create/failure", "mfa_challenge.create/success", "mfa_challenge.verify/success", "mfa_challenge.verify/failure"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s row in %v", want, actions)
		}
	}
}
