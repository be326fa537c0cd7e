package mfa_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/iam"
)

const goodCode = "123456"

// stubIAM answers iam-service's MFA contract (the full fake lives in
// infra/fakes/iam, which this module cannot import): any challenge, the
// one good code, 503 while down.
type stubIAM struct {
	verifies atomic.Int64
	down     atomic.Bool
	secret   string
}

func (s *stubIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	if strings.HasSuffix(r.URL.Path, "/verify") {
		s.verifies.Add(1)
		if body["code"] != goodCode {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"code":"MELMASTOON.IAM.MFA_CODE_INVALID","detail":"upstream text never shown"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"attestationToken": s.secret, "factor": "totp", "verifiedAt": time.Now().UTC().Format(time.RFC3339Nano)})
		return
	}
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"challengeId": "chl_" + ids.New(ids.Event)[4:], "scope": body["scope"], "factor": body["factor"],
		"expiresAt": time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339Nano),
	})
}

type rig struct {
	svc  *mfa.Service
	iam  *stubIAM
	now  atomic.Int64 // unix ms offset added to the wall clock
	tent string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{iam: &stubIAM{secret: "iamatt_SECRET_" + ids.New(ids.Event)}, tent: ids.New(ids.Tenant)}
	srv := httptest.NewServer(r.iam)
	t.Cleanup(srv.Close)
	cl, err := iam.NewClient(iam.Config{URL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.svc = mfa.New(mfa.Deps{Redis: testenv.Redis(t), IAM: cl, Now: func() time.Time {
		return time.Now().Add(time.Duration(r.now.Load()) * time.Millisecond)
	}})
	return r
}

func (r *rig) operator(roles ...string) actor.Actor {
	return actor.Actor{TenantID: r.tent, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), Roles: roles, Start: time.Now()}
}

func (r *rig) attest(t *testing.T, a actor.Actor, scope mfa.Scope) mfa.Attestation {
	t.Helper()
	ctx := context.Background()
	c, _, err := r.svc.Challenge(ctx, a, mfa.ChallengeRequest{Scope: scope, Factor: "totp"})
	if err != nil {
		t.Fatal(err)
	}
	att, _, err := r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: goodCode})
	if err != nil {
		t.Fatal(err)
	}
	if att.Scope != scope || ids.Check(ids.MfaAttestation, att.ID) != nil || att.ExpiresAt.Sub(att.AttestedAt.Time) != 5*time.Minute {
		t.Fatalf("attestation %+v", att)
	}
	return att
}

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func TestWrongCodesKillAChallenge(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	a := r.operator("front_desk")
	c, _, err := r.svc.Challenge(ctx, a, mfa.ChallengeRequest{Scope: mfa.ScopeLockRevoke, Factor: "sms"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= mfa.MaxAttempts; i++ {
		_, _, err := r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: "000000"})
		wantCode(t, err, apperr.MFAAttestationInvalid)
		if d := apperr.From(err).Detail; !strings.Contains(d, fmt.Sprint(mfa.MaxAttempts-i)) || strings.Contains(d, "upstream text") {
			t.Fatalf("attempt %d: detail %q", i, d)
		}
	}
	_, _, err = r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: goodCode})
	wantCode(t, err, apperr.MFAAttestationInvalid)
	if n := r.iam.verifies.Load(); n != mfa.MaxAttempts {
		t.Fatalf("iam-service asked %d times, want %d", n, mfa.MaxAttempts)
	}
}

func TestConcurrentGuessesStayWithinTheLimit(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	a := r.operator("manager")
	c, _, err := r.svc.Challenge(ctx, a, mfa.ChallengeRequest{Scope: mfa.ScopeRefund, Factor: "totp"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: "999999"})
		}()
	}
	wg.Wait()
	if n := r.iam.verifies.Load(); n > mfa.MaxAttempts {
		t.Fatalf("%d guesses reached iam-service, limit %d", n, mfa.MaxAttempts)
	}
}

func TestOutageGivesTheAttemptBack(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	a := r.operator("manager")
	c, _, err := r.svc.Challenge(ctx, a, mfa.ChallengeRequest{Scope: mfa.ScopeRefund, Factor: "totp"})
	if err != nil {
		t.Fatal(err)
	}
	r.iam.down.Store(true)
	for range mfa.MaxAttempts + 2 {
		_, _, err := r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: goodCode})
		wantCode(t, err, apperr.UpstreamUnavailable)
	}
	r.iam.down.Store(false)
	if _, _, err := r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: goodCode}); err != nil {
		t.Fatalf("verify after the outage: %v", err)
	}
}

func TestChallengeNeedsTheActionsRole(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	for _, c := range []struct {
		roles []string
		scope mfa.Scope
		code  apperr.Code
	}{
		{[]string{"front_desk"}, mfa.ScopeRefund, apperr.ForbiddenRole},
		{[]string{"front_desk"}, mfa.ScopeForceCheckout, apperr.ForbiddenRole},
		{[]string{"housekeeping_lead"}, mfa.ScopeLockRevoke, apperr.ForbiddenRole},
		{[]string{"maintenance_lead"}, mfa.ScopeLargeFolioAdjust, apperr.ForbiddenRole},
		{[]string{"front_desk"}, "open_everything", apperr.ValidationFailed},
	} {
		_, _, err := r.svc.Challenge(ctx, r.operator(c.roles...), mfa.ChallengeRequest{Scope: c.scope, Factor: "totp"})
		wantCode(t, err, c.code)
	}
	_, _, err := r.svc.Challenge(ctx, r.operator("front_desk"), mfa.ChallengeRequest{Scope: mfa.ScopeLockRevoke, Factor: "pigeon"})
	wantCode(t, err, apperr.ValidationFailed)
	if _, _, err := r.svc.Challenge(ctx, r.operator("night_auditor"), mfa.ChallengeRequest{Scope: mfa.ScopeRefund, Factor: "webauthn"}); err != nil {
		t.Fatal(err)
	}
}

func TestChallengeIsBoundToOperatorAndDevice(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	a := r.operator("front_desk")
	c, _, err := r.svc.Challenge(ctx, a, mfa.ChallengeRequest{Scope: mfa.ScopeLockRevoke, Factor: "totp"})
	if err != nil {
		t.Fatal(err)
	}
	otherDevice := a
	otherDevice.DeviceID = ids.New(ids.Device)
	otherTenant := a
	otherTenant.TenantID = ids.New(ids.Tenant)
	for _, x := range []actor.Actor{r.operator("front_desk"), otherDevice, otherTenant} {
		_, _, err := r.svc.Verify(ctx, x, c.ChallengeID, mfa.VerifyRequest{Code: goodCode})
		wantCode(t, err, apperr.MFAAttestationInvalid)
	}
	if r.iam.verifies.Load() != 0 {
		t.Fatal("a foreign verification reached iam-service")
	}
	if _, _, err := r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: goodCode}); err != nil {
		t.Fatal(err)
	}
	// Verified once: a second verification finds no challenge.
	_, _, err = r.svc.Verify(ctx, a, c.ChallengeID, mfa.VerifyRequest{Code: goodCode})
	wantCode(t, err, apperr.MFAAttestationInvalid)
}

func TestAttestationIsSpentOnceByExactlyOneAction(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	a := r.operator("front_desk")
	att := r.attest(t, a, mfa.ScopeLockRevoke)

	_, err := r.svc.Require(ctx, a, "", mfa.ScopeLockRevoke, "k0")
	wantCode(t, err, apperr.MFARequired)
	if !strings.Contains(apperr.From(err).Detail, "lock_revoke") {
		t.Fatalf("MFA_REQUIRED detail %q names no scope", apperr.From(err).Detail)
	}
	// Refused uses do not spend it.
	otherDevice := a
	otherDevice.DeviceID = ids.New(ids.Device)
	otherTenant := a
	otherTenant.TenantID = ids.New(ids.Tenant)
	for _, c := range []struct {
		a     actor.Actor
		id    string
		scope mfa.Scope
	}{
		{r.operator("front_desk"), att.ID, mfa.ScopeLockRevoke},
		{otherDevice, att.ID, mfa.ScopeLockRevoke},
		{otherTenant, att.ID, mfa.ScopeLockRevoke},
		{a, att.ID, mfa.ScopeRefund},
		{a, ids.New(ids.MfaAttestation), mfa.ScopeLockRevoke},
		{a, "mfa_not-an-id", mfa.ScopeLockRevoke},
	} {
		_, err := r.svc.Require(ctx, c.a, c.id, c.scope, "k-other")
		wantCode(t, err, apperr.MFAAttestationInvalid)
	}

	const n = 50
	var wins atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.svc.Require(ctx, a, att.ID, mfa.ScopeLockRevoke, fmt.Sprintf("action-%d", i))
			switch {
			case err == nil:
				wins.Add(1)
			case !apperr.Is(err, apperr.MFAAttestationInvalid):
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	if wins.Load() != 1 {
		t.Fatalf("%d actions spent one attestation, want exactly 1", wins.Load())
	}
	// The winner's retry (same consumer) is let through again.
	var winner string
	for i := range n {
		if sp, err := r.svc.Require(ctx, a, att.ID, mfa.ScopeLockRevoke, fmt.Sprintf("action-%d", i)); err == nil {
			if !sp.Again || sp.Token.Reveal() != r.iam.secret || sp.Factor != "totp" {
				t.Fatalf("retry of the winner: %+v", sp)
			}
			winner = fmt.Sprint(i)
		}
	}
	if winner == "" {
		t.Fatal("the winner's retry was refused")
	}
}

func TestExpiredAttestationIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := r.operator("manager")
	att := r.attest(t, a, mfa.ScopeRefund)
	r.now.Store((5*time.Minute + time.Second).Milliseconds())
	_, err := r.svc.Require(context.Background(), a, att.ID, mfa.ScopeRefund, "k")
	wantCode(t, err, apperr.MFAAttestationInvalid)
}

func TestTheIAMTokenNeverShows(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := r.operator("manager")
	att := r.attest(t, a, mfa.ScopeForceCheckout)
	sp, err := r.svc.Require(context.Background(), a, att.ID, mfa.ScopeForceCheckout, "k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sp)
	b2, _ := json.Marshal(att)
	for _, s := range []string{string(b), string(b2), fmt.Sprintf("%v %+v %#v %s", sp, sp, sp, sp.Token)} {
		if strings.Contains(s, r.iam.secret) || strings.Contains(s, "SECRET") {
			t.Fatalf("token leaked: %s", s)
		}
	}
}
