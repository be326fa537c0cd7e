package views

import (
	"context"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// Calendar answers "what date is it at this property", which every view
// and widget is about. Time zones change almost never, so each instance
// keeps a tenant's zones for a while instead of asking tenant-service on
// every composition.
type Calendar struct {
	Tenant *tenant.Client
	TTL    time.Duration // default 10 min
	Now    func() time.Time

	mu    sync.Mutex
	zones map[string]zoneEntry
}

type zoneEntry struct {
	at    time.Time
	zones map[string]*time.Location
}

// Today returns the property's civil date. When tenant-service cannot be
// reached and nothing is cached, it falls back to UTC rather than fail the
// whole view: a few hours' skew at midnight beats an error page.
func (c *Calendar) Today(ctx context.Context, tenantID, propertyID string) string {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return now().In(c.location(ctx, tenantID, propertyID)).Format(time.DateOnly)
}

func (c *Calendar) location(ctx context.Context, tenantID, propertyID string) *time.Location {
	ttl := c.TTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	c.mu.Lock()
	e, ok := c.zones[tenantID]
	c.mu.Unlock()
	if !ok || time.Since(e.at) > ttl {
		if c.Tenant != nil {
			if props, err := c.Tenant.Properties(ctx, tenantID); err == nil {
				e = zoneEntry{at: time.Now(), zones: map[string]*time.Location{}}
				for _, p := range props {
					e.zones[p.ID] = p.Location
				}
				c.mu.Lock()
				if c.zones == nil {
					c.zones = map[string]zoneEntry{}
				}
				c.zones[tenantID] = e
				c.mu.Unlock()
			}
		}
	}
	if loc, ok := e.zones[propertyID]; ok && loc != nil {
		return loc
	}
	return time.UTC
}
