package tenant

import (
	"context"
	"errors"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// RateLimits are a tenant's request limits: each device may make
// DevicePerSecond requests a second with bursts of up to DeviceBurst, and
// all the tenant's devices together TenantPerSecond.
type RateLimits struct {
	DevicePerSecond float64 `json:"devicePerSecond"`
	DeviceBurst     int     `json:"deviceBurst"`
	TenantPerSecond float64 `json:"tenantPerSecond"`
}

// DefaultRateLimits apply to a tenant whose config leaves them out.
var DefaultRateLimits = RateLimits{DevicePerSecond: 20, DeviceBurst: 60, TenantPerSecond: 1000}

// DefaultMFAThresholdMinor is the amount (minor units) from which an action
// asks for MFA when the tenant's config leaves it out.
const DefaultMFAThresholdMinor int64 = 50000

// maxLimit bounds a limit taken from tenant-service: far above any real
// need, and small enough that bucket arithmetic stays exact in a double.
const maxLimit = 1_000_000

// TenantConfig is what tenant-service configures per tenant.
type TenantConfig struct {
	RateLimits        RateLimits
	MFAThresholdMinor int64
}

type configDoc struct {
	TenantID   string `json:"tenantId"`
	RateLimits *struct {
		DevicePerSecond *float64 `json:"devicePerSecond"`
		DeviceBurst     *float64 `json:"deviceBurst"`
		TenantPerSecond *float64 `json:"tenantPerSecond"`
	} `json:"rateLimits"`
	MFAThresholdMinor *int64 `json:"mfaThresholdMinor"`
}

// Config returns the tenant's configuration. A limit that is absent, not
// positive or absurdly large is replaced by its default (and logged): a
// bad value must neither lock a tenant out nor lift its limits.
//
// Errors: VALIDATION_FAILED for a malformed id; an error matching
// ErrNotFound when tenant-service does not know the tenant;
// UPSTREAM_UNAVAILABLE for timeouts, connection failures, 5xx, 429,
// unreadable answers and an answer for another tenant; INTERNAL for other
// statuses.
func (c *Client) Config(ctx context.Context, tenantID string) (TenantConfig, error) {
	const op = "tenant.Config"
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		return TenantConfig{}, apperr.Validation(apperr.FieldError{Field: "tenantId", Message: err.Error()})
	}
	var doc configDoc
	err := c.http.GetJSON(ctx, op, []string{"v1", "tenants", tenantID, "config"}, nil, &doc)
	var nf *httpc.NotFoundError
	if errors.As(err, &nf) {
		return TenantConfig{}, &NotFoundError{TenantID: tenantID, Code: nf.Code}
	}
	if err != nil {
		return TenantConfig{}, err
	}
	if doc.TenantID != "" && doc.TenantID != tenantID {
		// Another tenant's limits would throttle (or free) this one.
		return TenantConfig{}, c.http.Unavailable(op, "answer is for %s", doc.TenantID)
	}
	log := logging.From(ctx)
	limit := func(name string, v *float64, def float64, whole bool) float64 {
		switch {
		case v == nil:
			return def
		case *v <= 0 || *v > maxLimit || (whole && *v != float64(int64(*v))):
			log.WarnContext(ctx, "tenant-service sent an unusable rate limit; the default applies",
				"limit", name, "value", *v, "tenantId", tenantID)
			return def
		}
		return *v
	}
	cfg := TenantConfig{RateLimits: DefaultRateLimits, MFAThresholdMinor: DefaultMFAThresholdMinor}
	if rl := doc.RateLimits; rl != nil {
		cfg.RateLimits.DevicePerSecond = limit("devicePerSecond", rl.DevicePerSecond, DefaultRateLimits.DevicePerSecond, false)
		cfg.RateLimits.DeviceBurst = int(limit("deviceBurst", rl.DeviceBurst, float64(DefaultRateLimits.DeviceBurst), true))
		cfg.RateLimits.TenantPerSecond = limit("tenantPerSecond", rl.TenantPerSecond, DefaultRateLimits.TenantPerSecond, false)
	}
	if v := doc.MFAThresholdMinor; v != nil {
		if *v >= 0 {
			cfg.MFAThresholdMinor = *v
		} else {
			log.WarnContext(ctx, "tenant-service sent a negative MFA threshold; the default applies",
				"value", *v, "tenantId", tenantID)
		}
	}
	return cfg, nil
}
