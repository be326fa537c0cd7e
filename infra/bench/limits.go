package bench

import (
	"github.com/melmastoon/bff-backoffice/infra/demo"
	faketenant "github.com/melmastoon/bff-backoffice/infra/fakes/tenant"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// unthrottled lifts every demo tenant's rate limits in the fake
// tenant-service as far as tenant-service allows: the scenarios measure
// the service at its limit, not the limiter refusing them. The limiter
// still runs (its buckets are read and written in the session's script on
// every request), so what it costs is in every figure.
func unthrottled(f *faketenant.Service, ds *demo.Dataset) {
	const most = 1_000_000
	for _, t := range ds.Tenants {
		f.SetConfig(t.ID, map[string]any{
			"rateLimits":        tenant.RateLimits{DevicePerSecond: most, DeviceBurst: most, TenantPerSecond: most},
			"mfaThresholdMinor": t.Config().MFAThresholdMinor,
		})
	}
}
