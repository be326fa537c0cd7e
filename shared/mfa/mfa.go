// Package mfa is step-up MFA for the sensitive actions (door-key revoke,
// refunds, large folio adjustments, force-checkout): challenges asked of
// iam-service, their verification, and the MfaAttestation (mfa_…) that a
// successful verification leaves in Redis for the one action it allows.
//
// An attestation is bound to the tenant (in its key), the operator, the
// device and the scope, lives MFAAttestationTTL, and is spent atomically
// by a Redis script: of any number of concurrent actions presenting it,
// exactly one spends it; a refused use (other operator, device or scope,
// expired) leaves it unspent. The spender is named by the action's
// idempotency key, so a retry of that same action (its first answer lost)
// is let through again instead of being refused.
//
// A challenge takes at most MFAMaxAttempts wrong codes: each verification
// reserves an attempt before iam-service is asked, so concurrent guesses
// cannot exceed the limit; an outage gives the attempt back.
//
// iam-service's attestation token stays in Redis: no answer, error or log
// line carries it (iam.Token redacts itself).
package mfa

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/upstream/iam"
)

// Scope is what an attestation allows.
type Scope string

// The scopes.
const (
	ScopeLockRevoke       Scope = "lock_revoke"
	ScopeLargeFolioAdjust Scope = "large_folio_adjust"
	ScopeRefund           Scope = "refund"
	ScopeForceCheckout    Scope = "force_checkout"
)

// Factors iam-service challenges with.
var Factors = []string{"totp", "webauthn", "sms"}

// scopeRights is the role matrix row of each scope's action: a challenge
// for an action the roles may not take is refused before iam-service is
// bothered.
var scopeRights = map[Scope]access.Right{
	ScopeLockRevoke:       access.DeskActions,
	ScopeLargeFolioAdjust: access.DeskActions,
	ScopeRefund:           access.Override,
	ScopeForceCheckout:    access.Override,
}

// Scopes lists every scope.
func Scopes() []Scope {
	return []Scope{ScopeLockRevoke, ScopeLargeFolioAdjust, ScopeRefund, ScopeForceCheckout}
}

// Right is the right the action of scope s needs ("" for an unknown scope).
func (s Scope) Right() access.Right { return scopeRights[s] }

// Valid reports whether s is a scope.
func (s Scope) Valid() bool { _, ok := scopeRights[s]; return ok }

// Limits, from rediskeys where they belong to a key.
const (
	AttestationTTL = rediskeys.MFAAttestationTTL
	MaxAttempts    = rediskeys.MFAMaxAttempts
	maxCodeLen     = 64
)

// Deps are what the service needs.
type Deps struct {
	Redis *redisx.Client
	IAM   *iam.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service issues, verifies and spends attestations. Safe for concurrent
// use.
type Service struct {
	rdb  *redisx.Client
	keys rediskeys.Keys
	iam  *iam.Client
	now  func() time.Time
}

// New builds the service.
func New(d Deps) *Service {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Service{rdb: d.Redis, keys: d.Redis.KeyNames(), iam: d.IAM, now: now}
}

// ChallengeRequest is POST /v1/mfa/challenges.
type ChallengeRequest struct {
	Scope  Scope  `json:"scope"`
	Factor string `json:"factor"`
}

// Challenge is its answer.
type Challenge struct {
	ChallengeID string        `json:"challengeId"`
	Scope       Scope         `json:"scope"`
	Factor      string        `json:"factor"`
	ExpiresAt   jsontime.Time `json:"expiresAt"`
}

// VerifyRequest is POST /v1/mfa/challenges/{id}/verify.
type VerifyRequest struct {
	Code string `json:"code"`
}

// Attestation is an MfaAttestation as the client sees it; the iam token is
// not part of it.
type Attestation struct {
	ID         string        `json:"id"`
	Scope      Scope         `json:"scope"`
	Factor     string        `json:"factor"`
	AttestedAt jsontime.Time `json:"attestedAt"`
	ExpiresAt  jsontime.Time `json:"expiresAt"`
}

// Spent is an attestation an action has spent: what its audit records and
// what it may forward upstream.
type Spent struct {
	Attestation
	Token iam.Token
	// Again is true when the same consumer had already spent it: the
	// action is a retry of the one it was spent on.
	Again bool
}

func sub(a actor.Actor) iam.Subject {
	return iam.Subject{TenantID: a.TenantID, OperatorID: a.OperatorID, DeviceID: a.DeviceID}
}

// Challenge asks iam-service to challenge the actor for req.Scope.
func (s *Service) Challenge(ctx context.Context, a actor.Actor, req ChallengeRequest) (_ Challenge, note activity.Note, err error) {
	defer derrors.Wrap(&err, "mfa.Challenge")
	note = activity.Note{Category: activity.CategoryAuth, Action: activity.ActionMFAChallengeCreate}
	var fields []apperr.FieldError
	if !req.Scope.Valid() {
		fields = append(fields, apperr.FieldError{Field: "scope", Message: "must be one of lock_revoke, large_folio_adjust, refund, force_checkout"})
	}
	if !slices.Contains(Factors, req.Factor) {
		fields = append(fields, apperr.FieldError{Field: "factor", Message: "must be one of totp, webauthn, sms"})
	}
	if len(fields) > 0 {
		return Challenge{}, note, apperr.Validation(fields...)
	}
	if err := access.Require(a.Roles, req.Scope.Right()); err != nil {
		return Challenge{}, note, err
	}
	c, err := s.iam.CreateChallenge(ctx, sub(a), string(req.Scope), req.Factor)
	if err != nil {
		return Challenge{}, note, err
	}
	note.Resource = &activity.Ref{Kind: "mfa_challenge", ID: c.ChallengeID}
	now := s.now()
	ttl := min(c.ExpiresAt.Sub(now), rediskeys.MFAChallengeMaxTTL)
	if ttl <= 0 {
		return Challenge{}, note, apperr.Unavailable(errors.New("iam-service issued an expired challenge"), "iam-service")
	}
	key := s.keys.MFAChallenge(a.TenantID, c.ChallengeID)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "op", a.OperatorID, "dev", a.DeviceID, "scope", string(req.Scope), "factor", req.Factor,
			"exp", c.ExpiresAt.UnixMilli(), "tries", 0)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return Challenge{}, note, apperr.Unavailable(fmt.Errorf("store challenge: %w", err), "session store")
	}
	return Challenge{ChallengeID: c.ChallengeID, Scope: req.Scope, Factor: req.Factor, ExpiresAt: jsontime.Of(c.ExpiresAt.Time)}, note, nil
}

// reserve takes one attempt of a challenge bound to the caller: the number
// of the attempt (1..max), 0 for a challenge that is unknown, another's or
// expired, -1 for one out of attempts.
var reserve = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'op', 'dev', 'exp', 'tries')
if not h[1] or h[1] ~= ARGV[1] or h[2] ~= ARGV[2] or tonumber(h[3]) <= tonumber(ARGV[3]) then
  return 0
end
if tonumber(h[4]) >= tonumber(ARGV[4]) then
  return -1
end
return redis.call('HINCRBY', KEYS[1], 'tries', 1)
`)

// finish turns a verified challenge into an attestation: the challenge is
// deleted and, only if this call deleted it, the attestation written. 1
// when written, 0 when another verification got there first.
var finish = redis.NewScript(`
local scope = redis.call('HGET', KEYS[1], 'scope')
if not scope or redis.call('DEL', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[2], 'op', ARGV[1], 'dev', ARGV[2], 'scope', scope, 'factor', ARGV[3],
  'at', ARGV[4], 'exp', ARGV[5], 'tok', ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 1
`)

func invalid(format string, args ...any) error {
	return apperr.New(apperr.MFAAttestationInvalid, format, args...)
}

// Verify presents the actor's code for challenge id; success is a fresh
// attestation.
func (s *Service) Verify(ctx context.Context, a actor.Actor, id string, req VerifyRequest) (_ Attestation, note activity.Note, err error) {
	defer derrors.Wrap(&err, "mfa.Verify")
	note = activity.Note{Category: activity.CategoryAuth, Action: activity.ActionMFAChallengeVerify}
	if !iam.ValidChallengeID(id) {
		return Attestation{}, note, apperr.Validation(apperr.FieldError{Field: "challengeId", Message: "must be 1 to 128 letters, digits, _ or -"})
	}
	note.Resource = &activity.Ref{Kind: "mfa_challenge", ID: id}
	if req.Code == "" || len(req.Code) > maxCodeLen {
		return Attestation{}, note, apperr.Validation(apperr.FieldError{Field: "code", Message: fmt.Sprintf("must be 1 to %d characters", maxCodeLen)})
	}
	key := s.keys.MFAChallenge(a.TenantID, id)
	n, err := reserve.Run(ctx, s.rdb, []string{key}, a.OperatorID, a.DeviceID, s.now().UnixMilli(), MaxAttempts).Int()
	if err != nil {
		return Attestation{}, note, apperr.Unavailable(fmt.Errorf("reserve attempt: %w", err), "session store")
	}
	switch n {
	case 0:
		return Attestation{}, note, invalid("the challenge is unknown or expired")
	case -1:
		return Attestation{}, note, invalid("the challenge took %d wrong codes and is closed; ask for a new one", MaxAttempts)
	}
	v, err := s.iam.Verify(ctx, sub(a), id, req.Code)
	switch {
	case errors.Is(err, iam.ErrWrongCode):
		left := MaxAttempts - n
		if left <= 0 {
			// Dead: the key goes, so later tries are unknown rather than
			// reaching iam-service again.
			_ = s.rdb.Del(context.WithoutCancel(ctx), key).Err()
			return Attestation{}, note, invalid("wrong code; 0 attempts left, ask for a new challenge")
		}
		return Attestation{}, note, invalid("wrong code; %d attempts left", left)
	case errors.Is(err, iam.ErrChallengeGone):
		_ = s.rdb.Del(context.WithoutCancel(ctx), key).Err()
		return Attestation{}, note, invalid("the challenge is no longer open")
	case err != nil:
		// iam-service never judged the code: the attempt is given back.
		_ = s.rdb.HIncrBy(context.WithoutCancel(ctx), key, "tries", -1).Err()
		return Attestation{}, note, err
	}
	now := s.now()
	att := Attestation{
		ID: ids.NewAt(ids.MfaAttestation, now), Factor: v.Factor,
		AttestedAt: jsontime.Of(now), ExpiresAt: jsontime.Of(now.Add(AttestationTTL)),
	}
	ok, err := finish.Run(ctx, s.rdb, []string{key, s.keys.MFAAttestation(a.TenantID, att.ID)},
		a.OperatorID, a.DeviceID, v.Factor, att.AttestedAt.UnixMilli(), att.ExpiresAt.UnixMilli(), v.Token.Reveal(),
		(AttestationTTL + rediskeys.MFAKeepGrace).Milliseconds()).Int()
	if err != nil {
		return Attestation{}, note, apperr.Unavailable(fmt.Errorf("store attestation: %w", err), "session store")
	}
	if ok != 1 {
		return Attestation{}, note, invalid("the challenge was already verified")
	}
	scope, err := s.rdb.HGet(ctx, s.keys.MFAAttestation(a.TenantID, att.ID), "scope").Result()
	if err != nil {
		return Attestation{}, note, apperr.Unavailable(fmt.Errorf("read attestation: %w", err), "session store")
	}
	att.Scope = Scope(scope)
	note.Resource = &activity.Ref{Kind: "mfa_attestation", ID: att.ID}
	return att, note, nil
}

// spend marks an attestation spent by ARGV[5] if it is bound to the
// caller (operator, device, scope), unexpired and unspent — or already
// spent by the same consumer. Returns {status, factor, at, exp, tok}:
// status 1 spent now, 2 spent before by this consumer, 0 refused (and
// nothing changed).
var spend = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'op', 'dev', 'scope', 'exp', 'used', 'factor', 'at', 'tok')
if not h[1] or h[1] ~= ARGV[1] or h[2] ~= ARGV[2] or h[3] ~= ARGV[3] or tonumber(h[4]) <= tonumber(ARGV[4]) then
  return {0}
end
local status = 1
if h[5] then
  if h[5] ~= ARGV[5] then
    return {0}
  end
  status = 2
else
  redis.call('HSET', KEYS[1], 'used', ARGV[5], 'usedAt', ARGV[4])
end
return {status, h[6], h[7], h[4], h[8]}
`)

// HeaderName is the request header that presents an attestation.
const HeaderName = "X-MFA-Attestation"

// Require is what an action that needs MFA calls, after its own checks and
// before it acts: 403 MFA_REQUIRED (the scope in the detail) without an
// attestation id, 403 MFA_ATTESTATION_INVALID for one that is malformed,
// unknown, another operator's, device's or scope's, expired or spent by
// another action. consumer names the action (its idempotency key): the same
// consumer may present it again.
func (s *Service) Require(ctx context.Context, a actor.Actor, id string, scope Scope, consumer string) (_ Spent, err error) {
	defer derrors.Wrap(&err, "mfa.Require")
	if id == "" {
		return Spent{}, apperr.New(apperr.MFARequired, "this action needs a step-up MFA attestation of scope %s", scope)
	}
	if ids.Check(ids.MfaAttestation, id) != nil {
		return Spent{}, invalid("the attestation is not valid for this action")
	}
	if consumer == "" {
		return Spent{}, errors.New("no consumer")
	}
	res, err := spend.Run(ctx, s.rdb, []string{s.keys.MFAAttestation(a.TenantID, id)},
		a.OperatorID, a.DeviceID, string(scope), s.now().UnixMilli(), consumer).Slice()
	if err != nil {
		return Spent{}, apperr.Unavailable(fmt.Errorf("spend attestation: %w", err), "session store")
	}
	status, _ := res[0].(int64)
	if status == 0 || len(res) < 5 {
		// One answer for every refusal: which binding failed is not the
		// caller's to learn.
		return Spent{}, invalid("the attestation is not valid for this action")
	}
	str := func(v any) string { s, _ := v.(string); return s }
	at, _ := strconv.ParseInt(str(res[2]), 10, 64)
	exp, _ := strconv.ParseInt(str(res[3]), 10, 64)
	return Spent{
		Attestation: Attestation{
			ID: id, Scope: scope, Factor: str(res[1]),
			AttestedAt: jsontime.Of(time.UnixMilli(at)), ExpiresAt: jsontime.Of(time.UnixMilli(exp)),
		},
		Token: iam.Token(str(res[4])),
		Again: status == 2,
	}, nil
}
