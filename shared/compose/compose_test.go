package compose_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/compose/composetest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// upstream counts calls and can fail or hang on demand.
type upstream struct {
	calls atomic.Int64
	fail  atomic.Bool
	hang  chan struct{} // non-nil: fetch blocks until it is closed, ignoring ctx
	value any
}

func (u *upstream) fetch(ctx context.Context) (any, error) {
	u.calls.Add(1)
	if u.hang != nil {
		<-u.hang
	}
	if u.fail.Load() {
		return nil, errors.New("upstream 503")
	}
	return u.value, nil
}

// Budgets of the tests that assert what is fresh: wide, so that a loaded
// machine (or the herd test running alongside) never makes a healthy
// widget late. The tests about lateness set their own.
const (
	wideBudget = 10 * time.Second
	wideTotal  = 20 * time.Second
)

func request(tenant, prop string, ups map[string]*upstream) compose.Request {
	return compose.Request{
		Kind: "dashboard", Prefix: ids.Dashboard, TenantID: tenant, PropertyID: prop, Role: "manager",
		TTL: 30 * time.Second, Total: wideTotal,
		Prepare: func(context.Context) []compose.Widget {
			var ws []compose.Widget
			for _, n := range []string{"today", "revenue", "alerts"} {
				if u, ok := ups[n]; ok {
					ws = append(ws, compose.Widget{Name: n, Budget: wideBudget, Fetch: u.fetch})
				}
			}
			return ws
		},
	}
}

func newClock() *testenv.Clock {
	return testenv.NewClock(time.Date(2026, 11, 23, 19, 7, 0, 0, time.UTC))
}

func newUps() map[string]*upstream {
	return map[string]*upstream{
		"today":   {value: map[string]int{"arrivals": 40}},
		"revenue": {value: map[string]string{"roomRevenue": "1234.00"}},
		"alerts":  {value: map[string]int{"open": 2}},
	}
}

func TestFreshStaleUnavailable(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	c := compose.New(rdb, compose.Options{})
	ctx := context.Background()
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	ups := newUps()

	snap, cached, err := c.Get(ctx, request(tenant, prop, ups))
	if err != nil || cached || snap.Partial || !ids.Valid(ids.Dashboard, snap.ID) {
		t.Fatalf("first Get = %+v cached %v err %v", snap, cached, err)
	}
	for _, n := range []string{"today", "revenue", "alerts"} {
		if snap.Staleness[n] != compose.Fresh {
			t.Fatalf("%s = %s, want fresh", n, snap.Staleness[n])
		}
	}
	// Second call: served from the cache, no upstream call.
	snap2, cached, err := c.Get(ctx, request(tenant, prop, ups))
	if err != nil || !cached || snap2.ID != snap.ID || ups["today"].calls.Load() != 1 {
		t.Fatalf("second Get cached %v id %s calls %d", cached, snap2.ID, ups["today"].calls.Load())
	}

	// Revenue fails: after an invalidation it is served from its last good value.
	ups["revenue"].fail.Store(true)
	if err := c.InvalidateProperty(ctx, tenant, prop); err != nil {
		t.Fatal(err)
	}
	snap3, _, err := c.Get(ctx, request(tenant, prop, ups))
	if err != nil || !snap3.Partial || snap3.Staleness["revenue"] != compose.Stale || string(snap3.Widgets["revenue"]) != `{"roomRevenue":"1234.00"}` {
		t.Fatalf("with revenue down: partial %v staleness %v revenue %s", snap3.Partial, snap3.Staleness, snap3.Widgets["revenue"])
	}

	// Another property has no last good value: unavailable and null.
	other := ids.New(ids.Property)
	snap4, _, err := c.Get(ctx, request(tenant, other, ups))
	if err != nil || snap4.Staleness["revenue"] != compose.Unavailable || string(snap4.Widgets["revenue"]) != "null" || snap4.Staleness["today"] != compose.Fresh {
		t.Fatalf("no last good: %v %s", snap4.Staleness, snap4.Widgets["revenue"])
	}
}

func TestHungWidgetDoesNotHoldTheAnswer(t *testing.T) {
	t.Parallel()
	c := compose.New(testenv.Redis(t), compose.Options{})
	ups := newUps()
	ups["alerts"].hang = make(chan struct{})
	t.Cleanup(func() { close(ups["alerts"].hang) })
	req := request(ids.New(ids.Tenant), ids.New(ids.Property), ups)
	req.Total = 800 * time.Millisecond
	req.Prepare = func(context.Context) []compose.Widget {
		return []compose.Widget{
			{Name: "today", Budget: 700 * time.Millisecond, Fetch: ups["today"].fetch},
			{Name: "alerts", Budget: 300 * time.Millisecond, Fetch: ups["alerts"].fetch},
		}
	}
	start := time.Now()
	snap, _, err := c.Get(context.Background(), req)
	took := time.Since(start)
	if err != nil || !snap.Partial || snap.Staleness["alerts"] != compose.Unavailable {
		t.Fatalf("hung alerts: %+v err %v", snap, err)
	}
	// The hang lasts until the test ends; the answer comes within the
	// total budget (800 ms), with room for a loaded machine.
	if took >= 5*time.Second {
		t.Fatalf("Get waited %v for a hung widget", took)
	}
}

func TestVersionBumpOnlyMovesForward(t *testing.T) {
	t.Parallel()
	c := compose.New(testenv.Redis(t), compose.Options{})
	ctx := context.Background()
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	ups := newUps()
	if _, _, err := c.Get(ctx, request(tenant, prop, ups)); err != nil {
		t.Fatal(err)
	}
	if err := c.BumpVersion(ctx, tenant, 5); err != nil {
		t.Fatal(err)
	}
	snap, cached, err := c.Get(ctx, request(tenant, prop, ups))
	if err != nil || cached || snap.CacheKeyVersion != 5 || ups["today"].calls.Load() != 2 {
		t.Fatalf("after bump: cached %v version %d calls %d", cached, snap.CacheKeyVersion, ups["today"].calls.Load())
	}
	if err := c.BumpVersion(ctx, tenant, 3); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Version(ctx, tenant); v != 5 {
		t.Fatalf("version after an older bump = %d, want 5", v)
	}
	if _, cached, _ := c.Get(ctx, request(tenant, prop, ups)); !cached {
		t.Fatal("an older bump invalidated the cache")
	}
}

// Four instances (separate Redis clients) × 250 concurrent cold requests:
// every widget is fetched exactly once and everyone gets the same snapshot.
func TestHerdAcrossInstances(t *testing.T) {
	t.Parallel()
	base := testenv.Redis(t)
	ups := newUps()
	for _, u := range ups {
		u.value = map[string]string{"v": "x"}
	}
	slow := func(u *upstream) func(context.Context) (any, error) {
		return func(ctx context.Context) (any, error) {
			time.Sleep(50 * time.Millisecond) // a realistic upstream
			return u.fetch(ctx)
		}
	}
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	req := request(tenant, prop, ups)
	req.Prepare = func(context.Context) []compose.Widget {
		var ws []compose.Widget
		for n, u := range ups {
			ws = append(ws, compose.Widget{Name: n, Budget: wideBudget, Fetch: slow(u)})
		}
		return ws
	}
	var composers []*compose.Composer
	for i := range 4 {
		rdb, err := redisx.Open(context.Background(), redisx.Config{Addr: base.Options().Addr, KeyPrefix: base.Prefix, PoolSize: 64})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		_ = i
		composers = append(composers, compose.New(rdb, compose.Options{}))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	testenv.AtOnce(1000, func(i int) {
		snap, _, err := composers[i%4].Get(context.Background(), req)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			seen["error: "+err.Error()]++
			return
		}
		seen[snap.ID+fmt.Sprint(snap.Partial)]++
	})
	if len(seen) != 1 {
		t.Fatalf("answers = %v, want one snapshot for all 1000", seen)
	}
	for n, u := range ups {
		if got := u.calls.Load(); got != 1 {
			t.Errorf("widget %s fetched %d times, want exactly 1", n, got)
		}
	}
}

// An instance that takes the lease and dies (it can neither store its
// snapshot nor release the lease) does not leave the waiters without an
// answer: once its lease lapses, a waiting instance composes and stores.
// The waiter's clock is frozen, so its "holder too slow" deadline never
// passes and only the lapsed lease can make it compose.
func TestDeadLeaseHolder(t *testing.T) {
	t.Parallel()
	base := testenv.Redis(t)
	open := func() *redisx.Client {
		rdb, err := redisx.Open(context.Background(), redisx.Config{Addr: base.Options().Addr, KeyPrefix: base.Prefix, PoolSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	const lease = 500 * time.Millisecond
	dying := open()
	holder := compose.New(dying, compose.Options{LeaseTTL: lease})
	frozen := newClock()
	waiter := compose.New(open(), compose.Options{LeaseTTL: lease, Now: frozen.Now})
	ctx := context.Background()
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)

	holding := make(chan struct{})
	holderUps := newUps()
	holderReq := request(tenant, prop, holderUps)
	holderReq.Prepare = func(context.Context) []compose.Widget {
		return []compose.Widget{{Name: "today", Budget: wideBudget, Fetch: func(ctx context.Context) (any, error) {
			// The holder has the lease now; its instance dies.
			_ = dying.Close()
			close(holding)
			return map[string]int{"arrivals": 1}, nil
		}}}
	}
	go func() { _, _, _ = holder.Get(ctx, holderReq) }()
	<-holding

	ups := newUps()
	snap, cached, err := waiter.Get(ctx, request(tenant, prop, ups))
	if err != nil || cached || snap.Partial || ups["today"].calls.Load() != 1 {
		t.Fatalf("waiter after a dead holder: partial %v cached %v err %v calls %d", snap.Partial, cached, err, ups["today"].calls.Load())
	}
	// The waiter composed under the lease it took over, and stored it.
	again, cached, err := waiter.Get(ctx, request(tenant, prop, ups))
	if err != nil || !cached || again.ID != snap.ID || ups["today"].calls.Load() != 1 {
		t.Fatalf("next Get: cached %v id %s (want %s) err %v calls %d", cached, again.ID, snap.ID, err, ups["today"].calls.Load())
	}
}

// A widget's last good value is served (stale) up to 10 minutes after it
// was fetched, and not after: the rule runs on the composer's clock.
func TestStaleValueLastsTenMinutes(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	clk := newClock()
	c := compose.New(rdb, compose.Options{Now: clk.Now})
	ctx := context.Background()
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	ups := newUps()
	if _, _, err := c.Get(ctx, request(tenant, prop, ups)); err != nil {
		t.Fatal(err)
	}
	ups["revenue"].fail.Store(true)
	get := func() *compose.Snapshot {
		t.Helper()
		if err := c.InvalidateProperty(ctx, tenant, prop); err != nil {
			t.Fatal(err)
		}
		snap, _, err := c.Get(ctx, request(tenant, prop, ups))
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	clk.Add(10 * time.Minute)
	if snap := get(); snap.Staleness["revenue"] != compose.Stale || string(snap.Widgets["revenue"]) != `{"roomRevenue":"1234.00"}` {
		t.Fatalf("10 min after the last good value: %s %s, want stale with the value", snap.Staleness["revenue"], snap.Widgets["revenue"])
	}
	clk.Add(time.Millisecond)
	if snap := get(); snap.Staleness["revenue"] != compose.Unavailable || string(snap.Widgets["revenue"]) != "null" {
		t.Fatalf("past 10 min: %s %s, want unavailable and null", snap.Staleness["revenue"], snap.Widgets["revenue"])
	}
}

// Snapshots are cached for the request's TTL (the dashboard's 30 s, a
// view's 15 s), a partial one for 5 s; the last good values for 10 min.
// Redis expires the keys: what is checked is the TTL each key is stored
// with.
func TestCacheLifetimes(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	c := compose.New(rdb, compose.Options{})
	ctx := context.Background()
	tenant := ids.New(ids.Tenant)
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		partial bool
		want    time.Duration
	}{
		{"dashboard", 30 * time.Second, false, 30 * time.Second},
		{"view", 15 * time.Second, false, 15 * time.Second},
		{"partial dashboard", 30 * time.Second, true, 5 * time.Second},
	} {
		prop := ids.New(ids.Property)
		ups := newUps()
		ups["revenue"].fail.Store(tc.partial)
		req := request(tenant, prop, ups)
		req.TTL = tc.ttl
		snap, _, err := c.Get(ctx, req)
		if err != nil || snap.Partial != tc.partial {
			t.Fatalf("%s: partial %v err %v", tc.name, snap.Partial, err)
		}
		composetest.WantTTL(t, rdb, tc.name, "snap:*"+prop+"*", tc.want)
		if !tc.partial {
			composetest.WantTTL(t, rdb, tc.name+" last good value", "lastgood:*"+prop+":*:today", 10*time.Minute)
		}
	}
}

func TestRedisDownStillComposes(t *testing.T) {
	t.Parallel()
	dead := testenv.ClosedRedis(t)
	c := compose.New(dead, compose.Options{})
	ups := newUps()
	snap, cached, err := c.Get(context.Background(), request(ids.New(ids.Tenant), ids.New(ids.Property), ups))
	if err != nil || cached || snap.Partial || len(snap.Widgets) != 3 {
		t.Fatalf("with Redis closed: %+v cached %v err %v", snap, cached, err)
	}
}

func BenchmarkGetCached(b *testing.B) {
	c := compose.New(testenv.Redis(b), compose.Options{})
	req := request(ids.New(ids.Tenant), ids.New(ids.Property), newUps())
	ctx := context.Background()
	if _, _, err := c.Get(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := c.Get(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCachedSnapshotDecodedAndRenderedOnce: once an instance has composed
// (or decoded) a snapshot, hits on the same bytes share it, and its Memo
// runs once however many requests ask at once; new bytes (after an
// invalidation) give a new snapshot.
func TestCachedSnapshotDecodedAndRenderedOnce(t *testing.T) {
	// Not parallel: its burst of goroutines would eat into the widget
	// budgets of the tests that assert freshness.
	rdb := testenv.Redis(t)
	c := compose.New(rdb, compose.Options{})
	ctx := context.Background()
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	ups := newUps()
	if _, _, err := c.Get(ctx, request(tenant, prop, ups)); err != nil {
		t.Fatal(err)
	}
	var (
		renders atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		seen    = map[*compose.Snapshot]bool{}
	)
	for range 50 {
		wg.Go(func() {
			snap, cached, err := c.Get(ctx, request(tenant, prop, ups))
			if err != nil || !cached {
				t.Errorf("hit = %v, %v", cached, err)
				return
			}
			if got := snap.Memo(func() any { renders.Add(1); return snap.ID }); got != snap.ID {
				t.Errorf("Memo = %v, want %s", got, snap.ID)
			}
			mu.Lock()
			seen[snap] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 1 || renders.Load() != 1 {
		t.Fatalf("%d snapshots decoded and %d renders for 50 hits on the same bytes, want 1 and 1", len(seen), renders.Load())
	}
	var first *compose.Snapshot
	for s := range seen {
		first = s
	}
	if err := c.InvalidateProperty(ctx, tenant, prop); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := c.Get(ctx, request(tenant, prop, ups))
	if err != nil || fresh == first || fresh.ID == first.ID {
		t.Fatalf("after invalidation got the old snapshot back (%v)", err)
	}
	if got := fresh.Memo(func() any { return "new" }); got != "new" {
		t.Fatalf("a new snapshot kept the old memo: %v", got)
	}
}
