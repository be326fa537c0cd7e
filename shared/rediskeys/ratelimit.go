package rediskeys

import "time"

// Rate limits (shared/session; checked and spent by the resolve script on
// every authenticated request, in the session's own round trip):
//
//	rl-dev:<t>:<dev>               HASH   {tokens, at (unix ms)}: the device's token
//	                               bucket. TTL: until it would be full again plus a
//	                               second (an absent bucket is a full one), set by
//	                               every request.
//	rl-tenant:<t>                  HASH   {tokens, at}: the tenant's bucket, shared by
//	                               all its devices. TTL as rl-dev.
//	rl-limits:<t>                  HASH   {devicePerSecond, deviceBurst, tenantPerSecond,
//	                               at (unix ms)}: the tenant's limits as tenant-service
//	                               last said. TTL RateLimitsTTL; written when a session
//	                               reads its access from tenant-service (at most every
//	                               few minutes per tenant); absent → the defaults.

// RateLimitsTTL is how long a tenant's limits, copied from tenant-service,
// are used. Any active session of the tenant rewrites them well within it
// (access is re-read every few minutes), so only an idle tenant's limits
// lapse to the defaults, and a tenant whose limits were lowered upstream
// while tenant-service stayed unreachable does not keep its old ones for
// long.
const RateLimitsTTL = 30 * time.Minute

// RateDevice is rl-dev:<t>:<dev>, the device's token bucket.
func (k Keys) RateDevice(tenantID, deviceID string) string {
	return k.Join("rl-dev", tenantID, deviceID)
}

// RateTenant is rl-tenant:<t>, the tenant's token bucket.
func (k Keys) RateTenant(tenantID string) string { return k.Join("rl-tenant", tenantID) }

// RateLimits is rl-limits:<t>, the tenant's limits.
func (k Keys) RateLimits(tenantID string) string { return k.Join("rl-limits", tenantID) }
