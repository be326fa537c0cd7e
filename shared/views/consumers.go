package views

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// ViewInvalidated is the data of the viewInvalidated live event: the
// desktop refetches the views it shows of PropertyID, or of every property
// when PropertyID is empty (a tenant-wide bootstrap change).
type ViewInvalidated struct {
	PropertyID string `json:"propertyId,omitempty"`
}

// VersionChanged consumes melmastoon.tenant.bootstrap.version_changed.v1:
// the tenant's cacheKeyVersion moves forward to the event's version, so
// every cached dashboard and view of the tenant is recomposed, and every
// device of the tenant gets viewInvalidated. Replays and reordering are
// harmless: the version never moves back, and a repeated viewInvalidated
// only costs the desktop a refetch.
func VersionChanged(c *compose.Composer) consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		var d struct {
			Version *int64 `json:"version"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.Version == nil || *d.Version < 0 {
			return fmt.Errorf("%w: data must be {version: non-negative integer}", consume.ErrPoison)
		}
		if err := c.BumpVersion(ctx, ev.TenantID, *d.Version); err != nil {
			return err
		}
		// After the bump: a desktop refetching on the event must not get
		// the old cache back.
		return devicestream.AppendTenant(ctx, c.Redis(), ev.TenantID, devicestream.TypeViewInvalidated, ViewInvalidated{})
	}
}

// PropertyChanged consumes reservation/housekeeping/maintenance .changed.v1:
// the property's cached views are dropped and the property's devices get
// viewInvalidated. Running it twice only costs one extra recomposition and
// one extra refetch.
func PropertyChanged(c *compose.Composer) consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		var d struct {
			PropertyID string `json:"propertyId"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || !ids.Valid(ids.Property, d.PropertyID) {
			return fmt.Errorf("%w: data must name a propertyId", consume.ErrPoison)
		}
		if err := c.InvalidateProperty(ctx, ev.TenantID, d.PropertyID); err != nil {
			return err
		}
		return devicestream.AppendProperty(ctx, c.Redis(), ev.TenantID, d.PropertyID, devicestream.TypeViewInvalidated, ViewInvalidated{PropertyID: d.PropertyID})
	}
}

// OnVersionChanged is VersionChanged for boot.Consumer: Redis only.
func OnVersionChanged(rdb *redisx.Client) consume.Func {
	return VersionChanged(compose.New(rdb, compose.Options{}))
}

// OnPropertyChanged is PropertyChanged for boot.Consumer: Redis only.
func OnPropertyChanged(rdb *redisx.Client) consume.Func {
	return PropertyChanged(compose.New(rdb, compose.Options{}))
}
