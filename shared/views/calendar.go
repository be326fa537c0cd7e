package views

import (
	"context"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// Calendar answers "what date is it at this property", which every view
// and widget is about. Time zones change almost never, so each instance
// keeps a tenant's zones for a while instead of asking tenant-service on
// every composition.
//
// The lookup runs before any widget starts, inside the composition's
// deadline, so it has its own small budget and never spends the
// dashboard's: a hung tenant-service costs one Budget per RetryAfter per
// tenant and instance, the stale zones (or UTC) are used meanwhile, and
// concurrent compositions of one tenant share one lookup.
type Calendar struct {
	Tenant *tenant.Client
	// TTL is how long zones are used before they are looked up again
	// (default 10 min).
	TTL time.Duration
	// Budget bounds one lookup (default 100 ms).
	Budget time.Duration
	// RetryAfter is how long a failed lookup is not retried (default 30 s).
	RetryAfter time.Duration
	Now        func() time.Time

	mu       sync.Mutex
	zones    map[string]zoneEntry
	inflight map[string]chan struct{}
}

type zoneEntry struct {
	at       time.Time // when the zones were fetched; zero: never
	failedAt time.Time // when the last lookup failed; zero: it did not
	zones    map[string]*time.Location
}

// Calendar defaults.
const (
	DefaultCalendarTTL        = 10 * time.Minute
	DefaultCalendarBudget     = 100 * time.Millisecond
	DefaultCalendarRetryAfter = 30 * time.Second
)

func (c *Calendar) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Today returns the property's civil date. When tenant-service cannot be
// reached and nothing is cached, it falls back to UTC rather than fail the
// whole view: a few hours' skew at midnight beats an error page.
func (c *Calendar) Today(ctx context.Context, tenantID, propertyID string) string {
	now := c.now()
	return now.In(c.location(ctx, tenantID, propertyID, now)).Format(time.DateOnly)
}

func (c *Calendar) location(ctx context.Context, tenantID, propertyID string, now time.Time) *time.Location {
	e := c.entry(ctx, tenantID, now)
	if loc, ok := e.zones[propertyID]; ok && loc != nil {
		return loc
	}
	return time.UTC
}

// entry returns the tenant's zones, looking them up when they are missing
// or older than TTL and no lookup failed within RetryAfter. One lookup per
// tenant runs at a time; the others wait for it (bounded by its budget) or
// for their own ctx.
func (c *Calendar) entry(ctx context.Context, tenantID string, now time.Time) zoneEntry {
	ttl, retry := orDefault(c.TTL, DefaultCalendarTTL), orDefault(c.RetryAfter, DefaultCalendarRetryAfter)
	for {
		c.mu.Lock()
		e := c.zones[tenantID]
		fresh := !e.at.IsZero() && now.Sub(e.at) <= ttl
		backoff := !e.failedAt.IsZero() && now.Sub(e.failedAt) < retry
		if fresh || backoff || c.Tenant == nil {
			c.mu.Unlock()
			return e
		}
		if wait, ok := c.inflight[tenantID]; ok {
			c.mu.Unlock()
			select {
			case <-wait:
				continue // the other lookup settled the entry: read it again
			case <-ctx.Done():
				return e
			}
		}
		done := make(chan struct{})
		if c.inflight == nil {
			c.inflight = map[string]chan struct{}{}
		}
		c.inflight[tenantID] = done
		c.mu.Unlock()
		return c.lookup(ctx, tenantID, e, now, done)
	}
}

func (c *Calendar) lookup(ctx context.Context, tenantID string, old zoneEntry, now time.Time, done chan struct{}) zoneEntry {
	lctx, cancel := context.WithTimeout(ctx, orDefault(c.Budget, DefaultCalendarBudget))
	props, err := c.Tenant.Properties(lctx, tenantID)
	cancel()
	e := old
	if err != nil {
		// Stale zones (or UTC) until RetryAfter: the tenant-service outage
		// must not cost every composition its budget.
		e.failedAt = now
		logging.From(ctx).WarnContext(ctx, "property time zones unavailable; using the last known ones", "tenantId", tenantID, "err", err)
	} else {
		e = zoneEntry{at: now, zones: make(map[string]*time.Location, len(props))}
		for _, p := range props {
			e.zones[p.ID] = p.Location
		}
	}
	c.mu.Lock()
	if c.zones == nil {
		c.zones = map[string]zoneEntry{}
	}
	c.zones[tenantID] = e
	delete(c.inflight, tenantID)
	c.mu.Unlock()
	close(done)
	return e
}
