package mfa_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/mfa/mfatest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/iam"
)

type rig struct {
	svc  *mfa.Service
	iam  *mfatest.IAM
	now  atomic.Int64 // unix ms offset added to the wall clock
	tent string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{tent: ids.New(ids.Tenant)}
	var cl *iam.Client
	r.iam, cl = mfatest.Start(t)
	r.svc = mfa.New(mfa.Deps{Redis: testenv.Redis(t), IAM: cl, Now: func() time.Time {
		return time.Now().Add(time.Duration(r.now.Load()) * time.Millisecond)
	}})
	return r
}

func (r *rig) operator(roles ...string) actor.Actor {
	return actor.Actor{TenantID: r.tent, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), Roles: roles, Start: time.Now()}
}

func (r *rig) challenge(t *testing.T, a actor.Actor, scope mfa.Scope, factor string) mfa.Challenge {
	t.Helper()
	return mfatest.Challenge(t, r.svc, a, scope, factor)
}

// challenged is a new rig with an operator of role and a challenge of
// scope open for them.
func challenged(t *testing.T, role string, scope mfa.Scope, factor string) (*rig, actor.Actor, mfa.Challenge) {
	t.Helper()
	r := newRig(t)
	a := r.operator(role)
	return r, a, r.challenge(t, a, scope, factor)
}

// verify sends code for a's challenge id.
func (r *rig) verify(a actor.Actor, challengeID, code string) error {
	_, _, err := r.svc.Verify(context.Background(), a, challengeID, mfa.VerifyRequest{Code: code})
	return err
}

// strangers are who must not use what a opened: another operator of the
// tenant, a on another device, and a in another tenant.
func (r *rig) strangers(a actor.Actor) []actor.Actor {
	otherDevice := a
	otherDevice.DeviceID = ids.New(ids.Device)
	otherTenant := a
	otherTenant.TenantID = ids.New(ids.Tenant)
	return []actor.Actor{r.operator(a.Roles...), otherDevice, otherTenant}
}

func (r *rig) attest(t *testing.T, a actor.Actor, scope mfa.Scope) mfa.Attestation {
	t.Helper()
	att := mfatest.Attest(t, r.svc, a, scope)
	if att.Scope != scope || ids.Check(ids.MfaAttestation, att.ID) != nil || att.ExpiresAt.Sub(att.AttestedAt.Time) != 5*time.Minute {
		t.Fatalf("attestation %+v", att)
	}
	return att
}

func TestWrongCodesKillAChallenge(t *testing.T) {
	t.Parallel()
	r, a, c := challenged(t, "front_desk", mfa.ScopeLockRevoke, "sms")
	for i := 1; i <= mfa.MaxAttempts; i++ {
		err := r.verify(a, c.ChallengeID, "000000")
		apperrtest.WantCode(t, err, apperr.MFAAttestationInvalid)
		if d := apperr.From(err).Detail; !strings.Contains(d, fmt.Sprint(mfa.MaxAttempts-i)) || strings.Contains(d, "upstream text") {
			t.Fatalf("attempt %d: detail %q", i, d)
		}
	}
	apperrtest.WantCode(t, r.verify(a, c.ChallengeID, mfatest.GoodCode), apperr.MFAAttestationInvalid)
	if n := r.iam.Verifies.Load(); n != mfa.MaxAttempts {
		t.Fatalf("iam-service asked %d times, want %d", n, mfa.MaxAttempts)
	}
}

func TestConcurrentGuessesStayWithinTheLimit(t *testing.T) {
	t.Parallel()
	r, a, c := challenged(t, "manager", mfa.ScopeRefund, "totp")
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.verify(a, c.ChallengeID, "999999")
		}()
	}
	wg.Wait()
	if n := r.iam.Verifies.Load(); n > mfa.MaxAttempts {
		t.Fatalf("%d guesses reached iam-service, limit %d", n, mfa.MaxAttempts)
	}
}

func TestOutageGivesTheAttemptBack(t *testing.T) {
	t.Parallel()
	r, a, c := challenged(t, "manager", mfa.ScopeRefund, "totp")
	r.iam.Down.Store(true)
	for range mfa.MaxAttempts + 2 {
		apperrtest.WantCode(t, r.verify(a, c.ChallengeID, mfatest.GoodCode), apperr.UpstreamUnavailable)
	}
	r.iam.Down.Store(false)
	if err := r.verify(a, c.ChallengeID, mfatest.GoodCode); err != nil {
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
		apperrtest.WantCode(t, err, c.code)
	}
	_, _, err := r.svc.Challenge(ctx, r.operator("front_desk"), mfa.ChallengeRequest{Scope: mfa.ScopeLockRevoke, Factor: "pigeon"})
	apperrtest.WantCode(t, err, apperr.ValidationFailed)
	if _, _, err := r.svc.Challenge(ctx, r.operator("night_auditor"), mfa.ChallengeRequest{Scope: mfa.ScopeRefund, Factor: "webauthn"}); err != nil {
		t.Fatal(err)
	}
}

func TestChallengeIsBoundToOperatorAndDevice(t *testing.T) {
	t.Parallel()
	r, a, c := challenged(t, "front_desk", mfa.ScopeLockRevoke, "totp")
	for _, x := range r.strangers(a) {
		apperrtest.WantCode(t, r.verify(x, c.ChallengeID, mfatest.GoodCode), apperr.MFAAttestationInvalid)
	}
	if r.iam.Verifies.Load() != 0 {
		t.Fatal("a foreign verification reached iam-service")
	}
	if err := r.verify(a, c.ChallengeID, mfatest.GoodCode); err != nil {
		t.Fatal(err)
	}
	// Verified once: a second verification finds no challenge.
	apperrtest.WantCode(t, r.verify(a, c.ChallengeID, mfatest.GoodCode), apperr.MFAAttestationInvalid)
}

func TestAttestationIsSpentOnceByExactlyOneAction(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	a := r.operator("front_desk")
	att := r.attest(t, a, mfa.ScopeLockRevoke)

	_, err := r.svc.Require(ctx, a, "", mfa.ScopeLockRevoke, "k0")
	apperrtest.WantCode(t, err, apperr.MFARequired)
	if !strings.Contains(apperr.From(err).Detail, "lock_revoke") {
		t.Fatalf("MFA_REQUIRED detail %q names no scope", apperr.From(err).Detail)
	}
	// Refused uses do not spend it.
	type use struct {
		a     actor.Actor
		id    string
		scope mfa.Scope
	}
	var refused []use
	for _, x := range r.strangers(a) {
		refused = append(refused, use{x, att.ID, mfa.ScopeLockRevoke})
	}
	refused = append(refused,
		use{a, att.ID, mfa.ScopeRefund},
		use{a, ids.New(ids.MfaAttestation), mfa.ScopeLockRevoke},
		use{a, "mfa_not-an-id", mfa.ScopeLockRevoke},
	)
	for _, c := range refused {
		_, err := r.svc.Require(ctx, c.a, c.id, c.scope, "k-other")
		apperrtest.WantCode(t, err, apperr.MFAAttestationInvalid)
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
			if !sp.Again || sp.Token.Reveal() != r.iam.Secret || sp.Factor != "totp" {
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
	apperrtest.WantCode(t, err, apperr.MFAAttestationInvalid)
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
		if strings.Contains(s, r.iam.Secret) || strings.Contains(s, "SECRET") {
			t.Fatalf("token leaked: %s", s)
		}
	}
}
