package rediskeys

import "time"

// Step-up MFA (shared/mfa; written by mfa-challenge and mfa-verify,
// consumed by the actions that need an attestation):
//
//	mfachl:<t>:<challengeId>       HASH   {op, dev, scope, factor, exp (unix ms),
//	                               tries}: an open challenge iam-service issued.
//	                               TTL until exp. tries counts verifications begun;
//	                               MFAMaxAttempts wrong codes delete it. Deleted by
//	                               the verification that succeeds, so only one
//	                               attestation comes of it.
//	mfa:<t>:<mfaId>                HASH   {op, dev, scope, factor, at, exp (unix ms),
//	                               tok, used, usedAt}: an attestation. tok is
//	                               iam-service's token, never returned or logged.
//	                               used is the consumer (the action's idempotency
//	                               key) that spent it, set once by the consume
//	                               script. TTL MFAAttestationTTL + MFAKeepGrace.

// MFA lifetimes.
const (
	// MFAAttestationTTL is how long an attestation can be spent.
	MFAAttestationTTL = 5 * time.Minute
	// MFAKeepGrace keeps a spent or expired attestation a little longer,
	// so a late use is refused as used rather than as unknown in logs.
	MFAKeepGrace = time.Minute
	// MFAMaxAttempts is how many wrong codes kill a challenge.
	MFAMaxAttempts = 5
	// MFAChallengeMaxTTL bounds a challenge's key whatever expiry
	// iam-service claims.
	MFAChallengeMaxTTL = 15 * time.Minute
)

// MFAChallenge is mfachl:<t>:<challengeId>.
func (k Keys) MFAChallenge(tenantID, challengeID string) string {
	return k.Join("mfachl", tenantID, challengeID)
}

// MFAAttestation is mfa:<t>:<mfaId>.
func (k Keys) MFAAttestation(tenantID, id string) string { return k.Join("mfa", tenantID, id) }
