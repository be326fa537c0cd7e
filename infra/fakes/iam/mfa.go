package iam

// iam-service's step-up MFA surface, as the BFF calls it:
//
//	POST /v1/mfa/challenges {tenantId, operatorId, deviceId, scope, factor}
//	     → 201 {challengeId, scope, factor, expiresAt}
//	POST /v1/mfa/challenges/{challengeId}/verify {tenantId, operatorId, deviceId, code}
//	     → 200 {attestationToken, factor, verifiedAt}
//	     → 422 MELMASTOON.IAM.MFA_CODE_INVALID {attemptsLeft}   a wrong code
//	     → 410 MELMASTOON.IAM.MFA_CHALLENGE_DEAD                expired, used, or out of attempts
//	     → 404 MELMASTOON.IAM.NOT_FOUND                         unknown, or another operator's/device's
//
// Every challenge accepts one code: the dev code (Config.MFADevCode), so a
// developer at `make dev` can complete one without a phone.

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// DefaultMFADevCode is the code every dev challenge accepts unless
// Config.MFADevCode says otherwise.
const DefaultMFADevCode = "246810"

// MFA limits of iam-service: a challenge lives 5 minutes and takes at most
// 5 wrong codes.
const (
	MFAChallengeTTL  = 5 * time.Minute
	MFAMaxAttempts   = 5
	maxMFAChallenges = 100_000 // a runaway test cannot grow the fake without bound
)

// MFA scopes and factors iam-service knows.
var (
	MFAScopes  = []string{"lock_revoke", "large_folio_adjust", "refund", "force_checkout"}
	MFAFactors = []string{"totp", "webauthn", "sms"}
)

type mfaChallenge struct {
	tenantID, operatorID, deviceID string
	scope, factor                  string
	expiresAt                      time.Time
	wrong                          int
	done                           bool
}

// MFADevCode is the code every challenge accepts.
func (s *IAM) MFADevCode() string { return s.mfaCode }

// MFAVerifications is how many verifications succeeded, for tests that
// prove a flow reached iam-service exactly as often as it should.
func (s *IAM) MFAVerifications() int {
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	return s.mfaVerified
}

type challengeRequest struct {
	TenantID   string `json:"tenantId"`
	OperatorID string `json:"operatorId"`
	DeviceID   string `json:"deviceId"`
	Scope      string `json:"scope"`
	Factor     string `json:"factor"`
}

func (r challengeRequest) check() error {
	for _, c := range []struct {
		field string
		p     ids.Prefix
		v     string
	}{{"tenantId", ids.Tenant, r.TenantID}, {"operatorId", ids.Operator, r.OperatorID}, {"deviceId", ids.Device, r.DeviceID}} {
		if err := ids.Check(c.p, c.v); err != nil {
			return fmt.Errorf("%s: %w", c.field, err)
		}
	}
	return nil
}

func (s *IAM) serveChallenge(w http.ResponseWriter, r *http.Request) {
	var req challengeRequest
	if err := fakes.DecodeJSON(r, &req); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION_FAILED", err.Error())
		return
	}
	if err := req.check(); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION_FAILED", err.Error())
		return
	}
	if !slices.Contains(MFAScopes, req.Scope) || !slices.Contains(MFAFactors, req.Factor) {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION_FAILED", "unknown scope or factor")
		return
	}
	now := time.Now()
	id := "chl_" + randomID()
	s.mfaMu.Lock()
	if len(s.mfa) >= maxMFAChallenges {
		for k, c := range s.mfa {
			if c.done || now.After(c.expiresAt) {
				delete(s.mfa, k)
			}
		}
	}
	if len(s.mfa) >= maxMFAChallenges {
		s.mfaMu.Unlock()
		fakes.WriteProblem(w, http.StatusTooManyRequests, "MELMASTOON.IAM.RATE_LIMITED", "too many open challenges")
		return
	}
	c := &mfaChallenge{
		tenantID: req.TenantID, operatorID: req.OperatorID, deviceID: req.DeviceID,
		scope: req.Scope, factor: req.Factor, expiresAt: now.Add(MFAChallengeTTL).Truncate(time.Millisecond),
	}
	s.mfa[id] = c
	s.mfaMu.Unlock()
	fakes.WriteJSON(w, http.StatusCreated, map[string]any{
		"challengeId": id, "scope": c.scope, "factor": c.factor, "expiresAt": jsontime.Time{Time: c.expiresAt},
	})
}

type verifyRequest struct {
	TenantID   string `json:"tenantId"`
	OperatorID string `json:"operatorId"`
	DeviceID   string `json:"deviceId"`
	Code       string `json:"code"`
}

func (s *IAM) serveVerify(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := fakes.DecodeJSON(r, &req); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION_FAILED", err.Error())
		return
	}
	if err := (challengeRequest{TenantID: req.TenantID, OperatorID: req.OperatorID, DeviceID: req.DeviceID}).check(); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION_FAILED", err.Error())
		return
	}
	now := time.Now()
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	c, ok := s.mfa[r.PathValue("id")]
	// Another principal's challenge is as unknown as a missing one, so ids
	// cannot be probed.
	if !ok || c.tenantID != req.TenantID || c.operatorID != req.OperatorID || c.deviceID != req.DeviceID {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.IAM.NOT_FOUND", "no such challenge")
		return
	}
	if c.done || c.wrong >= MFAMaxAttempts || now.After(c.expiresAt) {
		fakes.WriteProblem(w, http.StatusGone, "MELMASTOON.IAM.MFA_CHALLENGE_DEAD", "challenge expired, used or out of attempts")
		return
	}
	if subtle.ConstantTimeCompare([]byte(req.Code), []byte(s.mfaCode)) != 1 {
		c.wrong++
		fakes.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"type": "https://errors.melmastoon.dev/MELMASTOON.IAM.MFA_CODE_INVALID", "title": "Unprocessable Entity",
			"status": http.StatusUnprocessableEntity, "code": "MELMASTOON.IAM.MFA_CODE_INVALID",
			"detail": "wrong code", "attemptsLeft": MFAMaxAttempts - c.wrong,
		})
		return
	}
	c.done = true
	s.mfaVerified++
	fakes.WriteJSON(w, http.StatusOK, map[string]any{
		"attestationToken": "iamatt_" + randomID() + randomID(), "factor": c.factor, "verifiedAt": jsontime.Time{Time: now},
	})
}
