package session

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/resolve.lua
var resolveScriptSrc string

// resolveScript reads what Resolve needs in one round trip and slides the
// session when it is still alive; it also spends one token of the
// device's and the tenant's rate-limit buckets, so the limiter costs no
// round trip of its own. KEYS: the operator's and the device's cutoffs,
// the device's session index, the expiry index, the operator's session
// set, the device's bucket, the tenant's bucket, the tenant's limits.
// ARGV: the index's TTL in seconds, the session key prefix, the
// X-Session-Id ("" when absent), now (unix ms), the new idle expiry (unix
// ms), the session JSON's TTL in seconds, the operator set's TTL in
// seconds, the default device rate (per second), device burst and tenant
// rate (used when the tenant has no limits stored). It returns both
// cutoffs, the index's bosId, that session's JSON, the named session's
// JSON, 1 when the indexed session is alive (its expiry lies ahead; only
// then is anything slid, so an expired session is never revived), 0 when
// the request is within the limits or 1 (device) or 2 (tenant) when it is
// over them, the wait in ms until a token is back, and when the tenant's
// limits were stored (unix ms; nil when absent). The session key is
// derived from the index's value, which is why it is built here
// (Memorystore is not a cluster).
//
// The buckets refill continuously at their rate up to their burst (the
// tenant's burst is one second of its rate, and never below the device
// burst, so one device's burst always fits). A device over its limit is
// refused without touching the tenant's bucket, and a request refused by
// the tenant's bucket spends nothing either: refusals write nothing.
var resolveScript = redis.NewScript(resolveScriptSrc)

//go:embed lua/claim_expired.lua
var claimExpiredSrc string

// claimExpired hands a sweeper run the sessions it is to expire, each to
// one run at a time. KEYS: the expiry index, the claimed set. ARGV: now
// (unix ms), the most to claim, the lease's end (unix ms), how many due
// entries to look at. A due session stays in the index, with its expiry,
// until the run that claimed it is done (release); the claimed set holds
// the lease, and one whose lease has passed (a run that died or failed to
// publish) is claimed again. It returns bosId, expiry pairs.
var claimExpired = redis.NewScript(claimExpiredSrc)

//go:embed lua/compare_and_set.lua
var compareAndSetSrc string

// compareAndSet sets KEYS[1] to ARGV[2] (for ARGV[3] seconds) only while
// it still holds ARGV[1]; it returns 1 when it did.
var compareAndSet = redis.NewScript(compareAndSetSrc)

//go:embed lua/compare_and_delete.lua
var compareAndDeleteSrc string

// compareAndDelete deletes KEYS[1] only while it still holds ARGV[1].
var compareAndDelete = redis.NewScript(compareAndDeleteSrc)

//go:embed lua/max_cutoff.lua
var maxCutoffSrc string

// maxCutoff keeps the latest cutoff of KEYS[1]: ARGV[1] (ms) with reason
// ARGV[2] replaces it when later, or when as late and a revocation (which
// outranks a sign-out); the TTL is reset to ARGV[3] seconds.
var maxCutoff = redis.NewScript(maxCutoffSrc)
