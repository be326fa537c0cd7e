// Package compose builds the dashboard and workbench views out of widgets
// fetched from upstream services, fast and never slower than its budget.
//
// For an on-call engineer, the Redis keys (under the deployment prefix;
// shared/rediskeys builds them and lists every other key):
//
//	ver:<tenant>                         cacheKeyVersion; bumped by tenant bootstrap changes, only forward
//	pgen:<tenant>:<property>             property generation; bumped by reservation/housekeeping/maintenance changes
//	snap:<kind>:<tenant>:<prop>:<role>:v<ver>:g<gen>   a composed snapshot, TTL 30 s (views 15 s, partial 5 s)
//	lease:<snap key>                     who is composing it right now (SET NX PX, 2 s)
//	lastgood:<tenant>:<prop>:<kind>:<widget>  last fresh value of a widget, 10 min
//
// A bump never deletes anything: it changes the key that is looked up, and
// the old snapshots expire on their own.
//
// Single flight: inside an instance, concurrent Gets of one key share one
// call (singleflight). Across instances, the caller that wins the lease
// composes; the others poll the snapshot key until it appears, the lease
// disappears (its holder died: they take over) or their deadline passes
// (they compose themselves). The winner re-reads the snapshot key after
// taking the lease, so a late arrival never composes what was just stored.
//
// Budgets: each widget gets its own deadline (default 300 ms), the whole
// composition Total (800 ms). A widget that fails or is late is served
// from its last good value as "stale" (≤ 10 min old) or is "unavailable"
// (null). Get does not wait for a fetch that ignores its context.
//
// Redis trouble never fails a request: reads fall back to composing
// directly, writes are best effort, both logged.
package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Staleness of a widget.
const (
	Fresh       = "fresh"
	Stale       = "stale"
	Unavailable = "unavailable"
)

// Widget is one part of a composition.
type Widget struct {
	Name   string
	Budget time.Duration // 0: Options.DefaultBudget
	Fetch  func(ctx context.Context) (any, error)
}

// Request names a composition.
type Request struct {
	Kind       string     // "dashboard", "arrivals", …
	Prefix     ids.Prefix // dsh or wbv
	TenantID   string
	PropertyID string
	Role       string
	TTL        time.Duration
	Total      time.Duration
	// Prepare returns the widgets; it runs only when a composition is
	// needed, so a cache hit does no other work.
	Prepare func(ctx context.Context) []Widget
}

// Snapshot is a composed result.
type Snapshot struct {
	ID              string                     `json:"id"`
	Kind            string                     `json:"kind"`
	TenantID        string                     `json:"tenantId"`
	PropertyID      string                     `json:"propertyId"`
	Role            string                     `json:"role"`
	ComposedAt      jsontime.Time              `json:"composedAt"`
	CacheKeyVersion int64                      `json:"cacheKeyVersion"`
	Widgets         map[string]json.RawMessage `json:"widgets"`
	Staleness       map[string]string          `json:"staleness"`
	Partial         bool                       `json:"partial"`

	memo *memo // values derived from it in this instance (Memo)
}

type memo struct {
	once sync.Once
	v    any
}

// Memo returns f's result for this snapshot, computed once per instance: a
// snapshot served from the cache thousands of times is rendered once.
// Snapshots Get returns are shared between requests and must be treated as
// read-only.
func (s *Snapshot) Memo(f func() any) any {
	if s.memo == nil {
		return f()
	}
	s.memo.once.Do(func() { s.memo.v = f() })
	return s.memo.v
}

// Options tune a Composer; zero values take the defaults.
type Options struct {
	DefaultBudget time.Duration // 300 ms
	StaleFor      time.Duration // 10 min
	PartialTTL    time.Duration // 5 s: a recovered upstream shows up soon
	LeaseTTL      time.Duration // 2 s
	PollEvery     time.Duration // 5 ms
	// WaitSlack is how long past Total a waiter keeps waiting for the
	// lease holder before composing itself (default 250 ms).
	WaitSlack time.Duration
	Now       func() time.Time
}

// Composer composes and caches. One per instance.
type Composer struct {
	rdb *redisx.Client
	o   Options
	sf  singleflight.Group

	// recent holds the last snapshot decoded per key with the bytes it came
	// from, so a cache hit whose bytes are unchanged skips the decode.
	mu     sync.Mutex
	recent map[string]recentSnap

	// lookups counts the lookups Get sent itself (not carried ahead).
	lookups atomic.Uint64
}

// Lookups is how many cache lookups Get has sent in a round trip of its
// own, rather than using one that went ahead (Ahead).
func (c *Composer) Lookups() uint64 { return c.lookups.Load() }

type recentSnap struct {
	raw  string
	snap *Snapshot
}

// maxRecent bounds Composer.recent; keys carry the version and generation,
// so stale ones pile up until the map is cleared.
const maxRecent = 512

// New returns a Composer over rdb.
func New(rdb *redisx.Client, o Options) *Composer {
	if o.DefaultBudget <= 0 {
		o.DefaultBudget = 300 * time.Millisecond
	}
	if o.StaleFor <= 0 {
		o.StaleFor = rediskeys.LastGoodTTL
	}
	if o.PartialTTL <= 0 {
		o.PartialTTL = rediskeys.SnapshotPartialTTL
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = rediskeys.LeaseTTL
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 5 * time.Millisecond
	}
	if o.WaitSlack <= 0 {
		o.WaitSlack = 250 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Composer{rdb: rdb, o: o}
}

// lookup reads the version, the property generation and the snapshot they
// point at in one round trip.
var lookup = redis.NewScript(`
local ver = redis.call('GET', KEYS[1]) or '0'
local gen = redis.call('GET', KEYS[2]) or '0'
local key = ARGV[1] .. ':v' .. ver .. ':g' .. gen
return {ver, gen, redis.call('GET', key) or false}`)

type result struct {
	snap   *Snapshot
	cached bool
}

// Ahead is the cache lookup of a composition sent ahead of Get, in another
// layer's pipeline (a redisx.Rider: the session's resolve carries it), so a
// cache hit costs the request no round trip of its own. Get uses its answer
// only when it asks for the very same key — the guess it was made from
// (the instance's last session of the device) is checked by that.
type Ahead struct {
	base string
	keys []string
	cmd  *redis.Cmd
}

// Ahead prepares the lookup of req (only its Kind, TenantID, PropertyID
// and Role matter) to be queued in a pipeline; carry it to Get with
// WithAhead.
func (c *Composer) Ahead(req Request) *Ahead {
	keys := c.rdb.KeyNames()
	return &Ahead{
		base: keys.SnapshotBase(req.Kind, req.TenantID, req.PropertyID, req.Role),
		keys: []string{keys.CacheVersion(req.TenantID), keys.PropertyGeneration(req.TenantID, req.PropertyID)},
	}
}

// Queue implements redisx.Rider.
func (a *Ahead) Queue(ctx context.Context, pipe redis.Pipeliner) {
	a.cmd = lookup.EvalSha(ctx, pipe, a.keys, a.base)
}

type aheadKey struct{}

// WithAhead returns ctx carrying a, for the Get it was made for.
func WithAhead(ctx context.Context, a *Ahead) context.Context {
	return context.WithValue(ctx, aheadKey{}, a)
}

// ahead is the lookup's result when it went ahead for base and got one.
func ahead(ctx context.Context, base string) ([]any, bool) {
	a, ok := ctx.Value(aheadKey{}).(*Ahead)
	if !ok || a.cmd == nil || a.base != base {
		return nil, false
	}
	res, err := a.cmd.Slice()
	return res, err == nil && len(res) == 3
}

// Get returns the snapshot of req, from the cache or freshly composed.
// cached reports a cache hit (also when another instance composed it).
func (c *Composer) Get(ctx context.Context, req Request) (_ *Snapshot, _ bool, err error) {
	defer derrors.Wrap(&err, "compose.Composer.Get")
	keys := c.rdb.KeyNames()
	base := keys.SnapshotBase(req.Kind, req.TenantID, req.PropertyID, req.Role)
	res, ok := ahead(ctx, base)
	if !ok {
		c.lookups.Add(1)
		res, err = lookup.Run(ctx, c.rdb, []string{keys.CacheVersion(req.TenantID), keys.PropertyGeneration(req.TenantID, req.PropertyID)}, base).Slice()
	}
	if err != nil {
		logging.From(ctx).WarnContext(ctx, "compose: cache unavailable, composing directly", "err", err)
		snap := c.compose(ctx, req, 0)
		return snap, false, nil
	}
	ver, _ := strconv.ParseInt(fmt.Sprint(res[0]), 10, 64)
	key := rediskeys.Snapshot(base, fmt.Sprint(res[0]), fmt.Sprint(res[1]))
	if s, ok := res[2].(string); ok {
		if snap, err := c.decode(key, s); err == nil {
			return snap, true, nil
		}
	}
	v, err, _ := c.sf.Do(key, func() (any, error) {
		// Shared by every waiter of this instance: not bound to the first
		// caller's context, which may be cancelled by its client.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), req.Total+c.o.WaitSlack+c.o.LeaseTTL)
		defer cancel()
		return c.fill(fctx, req, key, ver), nil
	})
	if err != nil {
		return nil, false, err
	}
	r := v.(result)
	return r.snap, r.cached, nil
}

// fill obtains the snapshot of key: compose it under the lease, or wait for
// whoever holds the lease.
func (c *Composer) fill(ctx context.Context, req Request, key string, ver int64) result {
	log := logging.From(ctx)
	lease := c.rdb.KeyNames().Lease(key)
	giveUp := c.o.Now().Add(req.Total + c.o.WaitSlack)
	for {
		won, err := c.rdb.SetNX(ctx, lease, "1", c.o.LeaseTTL).Result()
		if err != nil {
			log.WarnContext(ctx, "compose: lease unavailable, composing directly", "err", err)
			return result{snap: c.store(ctx, req, key, c.compose(ctx, req, ver))}
		}
		if won {
			// Someone may have stored it between our read and the lease.
			if snap, ok := c.read(ctx, key); ok {
				c.rdb.Del(ctx, lease)
				return result{snap: snap, cached: true}
			}
			snap := c.store(ctx, req, key, c.compose(ctx, req, ver))
			c.rdb.Del(ctx, lease)
			return result{snap: snap}
		}
		// Another instance is composing: wait for its snapshot.
		for {
			if snap, ok := c.read(ctx, key); ok {
				return result{snap: snap, cached: true}
			}
			if c.o.Now().After(giveUp) {
				log.WarnContext(ctx, "compose: lease holder too slow, composing here", "key", key)
				return result{snap: c.store(ctx, req, key, c.compose(ctx, req, ver))}
			}
			n, err := c.rdb.Exists(ctx, lease).Result()
			if err == nil && n == 0 {
				break // the holder vanished without storing: take over
			}
			select {
			case <-ctx.Done():
				return result{snap: c.compose(context.WithoutCancel(ctx), req, ver)}
			case <-time.After(c.o.PollEvery):
			}
		}
	}
}

func (c *Composer) read(ctx context.Context, key string) (*Snapshot, bool) {
	s, err := c.rdb.Get(ctx, key).Result()
	if err != nil {
		return nil, false
	}
	snap, err := c.decode(key, s)
	return snap, err == nil
}

// decode turns the cached bytes of key into a snapshot, reusing the one
// decoded last time when the bytes are the same.
func (c *Composer) decode(key, s string) (*Snapshot, error) {
	c.mu.Lock()
	r, ok := c.recent[key]
	c.mu.Unlock()
	if ok && r.raw == s {
		return r.snap, nil
	}
	snap := &Snapshot{memo: &memo{}}
	if err := json.Unmarshal([]byte(s), snap); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	c.remember(key, s, snap)
	return snap, nil
}

func (c *Composer) remember(key, raw string, snap *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recent == nil || len(c.recent) >= maxRecent {
		c.recent = make(map[string]recentSnap)
	}
	c.recent[key] = recentSnap{raw: raw, snap: snap}
}

// store caches snap; a partial one only briefly.
func (c *Composer) store(ctx context.Context, req Request, key string, snap *Snapshot) *Snapshot {
	ttl := req.TTL
	if snap.Partial && c.o.PartialTTL < ttl {
		ttl = c.o.PartialTTL
	}
	b, err := json.Marshal(snap)
	if err == nil {
		err = c.rdb.Set(ctx, key, b, ttl).Err()
	}
	if err != nil {
		logging.From(ctx).WarnContext(ctx, "compose: snapshot not cached", "err", err)
		return snap
	}
	// The next hits on this instance read these very bytes back.
	c.remember(key, string(b), snap)
	return snap
}

type fetched struct {
	name  string
	value json.RawMessage
	err   error
}

type lastGood struct {
	At    int64           `json:"at"`
	Value json.RawMessage `json:"value"`
}

// compose fetches every widget in parallel under its budget and the total,
// and never waits past the total.
func (c *Composer) compose(ctx context.Context, req Request, ver int64) *Snapshot {
	start := c.o.Now()
	total := req.Total
	if total <= 0 {
		total = 800 * time.Millisecond
	}
	tctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	var widgets []Widget
	if req.Prepare != nil {
		widgets = req.Prepare(tctx)
	}
	out := make(chan fetched, len(widgets))
	for _, w := range widgets {
		budget := w.Budget
		if budget <= 0 {
			budget = c.o.DefaultBudget
		}
		go func() {
			wctx, cancel := context.WithTimeout(tctx, budget)
			defer cancel()
			v, err := fetchSafely(wctx, w.Fetch)
			var raw json.RawMessage
			if err == nil {
				raw, err = json.Marshal(v)
			}
			if err == nil && wctx.Err() != nil {
				err = wctx.Err() // arrived after its budget
			}
			out <- fetched{name: w.Name, value: raw, err: err}
		}()
	}
	got := make(map[string]fetched, len(widgets))
	for len(got) < len(widgets) {
		select {
		case f := <-out:
			got[f.name] = f
		case <-tctx.Done():
			for _, w := range widgets {
				if _, ok := got[w.Name]; !ok {
					got[w.Name] = fetched{name: w.Name, err: tctx.Err()}
				}
			}
		}
	}

	snap := &Snapshot{
		ID: ids.NewAt(req.Prefix, start), Kind: req.Kind, TenantID: req.TenantID, PropertyID: req.PropertyID,
		Role: req.Role, ComposedAt: jsontime.Of(c.o.Now()), CacheKeyVersion: ver,
		Widgets: make(map[string]json.RawMessage, len(widgets)), Staleness: make(map[string]string, len(widgets)),
		memo: &memo{},
	}
	// Last-good values live outside the request's deadline: they are read
	// and written after the budget may already be spent.
	wctx := context.WithoutCancel(ctx)
	pipe := c.rdb.Pipeline()
	var failed []string
	for _, w := range widgets {
		f := got[w.Name]
		lk := c.rdb.KeyNames().LastGood(req.TenantID, req.PropertyID, req.Kind, w.Name)
		if f.err == nil {
			snap.Widgets[w.Name], snap.Staleness[w.Name] = f.value, Fresh
			b, _ := json.Marshal(lastGood{At: c.o.Now().UnixMilli(), Value: f.value})
			pipe.Set(wctx, lk, b, c.o.StaleFor)
			continue
		}
		logging.From(ctx).WarnContext(ctx, "compose: widget not fresh", "kind", req.Kind, "widget", w.Name, "err", f.err)
		failed = append(failed, lk)
		snap.Widgets[w.Name], snap.Staleness[w.Name] = json.RawMessage("null"), Unavailable
		snap.Partial = true
	}
	if len(failed) > 0 {
		vals, err := c.rdb.MGet(wctx, failed...).Result()
		if err == nil {
			for i, v := range vals {
				s, ok := v.(string)
				if !ok {
					continue
				}
				var lg lastGood
				if json.Unmarshal([]byte(s), &lg) != nil || c.o.Now().Sub(time.UnixMilli(lg.At)) > c.o.StaleFor {
					continue
				}
				name := nameOf(failed[i])
				snap.Widgets[name], snap.Staleness[name] = lg.Value, Stale
			}
		}
	}
	if _, err := pipe.Exec(wctx); err != nil && !errors.Is(err, redis.Nil) {
		logging.From(ctx).WarnContext(ctx, "compose: last-good values not saved", "err", err)
	}
	return snap
}

// nameOf is the widget name at the end of a last-good key.
func nameOf(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == ':' {
			return key[i+1:]
		}
	}
	return key
}

// fetchSafely turns a panicking fetch into an error: one broken widget
// must not take the dashboard down.
func fetchSafely(ctx context.Context, f func(context.Context) (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("widget panicked: %v", r)
		}
	}()
	return f(ctx)
}

// Version returns the tenant's cacheKeyVersion.
func (c *Composer) Version(ctx context.Context, tenantID string) (_ int64, err error) {
	defer derrors.Wrap(&err, "compose.Composer.Version")
	v, err := c.rdb.Get(ctx, c.rdb.KeyNames().CacheVersion(tenantID)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

var bump = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
return 0`)

// BumpVersion moves the tenant's cacheKeyVersion forward to `to`; a lower
// or equal version (a replayed or reordered event) changes nothing.
func (c *Composer) BumpVersion(ctx context.Context, tenantID string, to int64) (err error) {
	defer derrors.Wrap(&err, "compose.Composer.BumpVersion(%s, %d)", tenantID, to)
	return bump.Run(ctx, c.rdb, []string{c.rdb.KeyNames().CacheVersion(tenantID)}, to).Err()
}

// Redis is the client the composer keeps its cache in, for consumers that
// announce an invalidation on the same deployment (shared/views).
func (c *Composer) Redis() *redisx.Client { return c.rdb }

// InvalidateProperty makes the property's next Gets compose anew.
func (c *Composer) InvalidateProperty(ctx context.Context, tenantID, propertyID string) (err error) {
	defer derrors.Wrap(&err, "compose.Composer.InvalidateProperty(%s)", propertyID)
	return c.rdb.Incr(ctx, c.rdb.KeyNames().PropertyGeneration(tenantID, propertyID)).Err()
}
