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
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// upstream counts calls and can fail or hang on demand.
type upstream struct {
	calls atomic.Int64
	fail  atomic.Bool
	hang  atomic.Bool
	value any
}

func (u *upstream) fetch(ctx context.Context) (any, error) {
	u.calls.Add(1)
	if u.hang.Load() {
		time.Sleep(2 * time.Second) // ignores ctx on purpose
	}
	if u.fail.Load() {
		return nil, errors.New("upstream 503")
	}
	return u.value, nil
}

func request(tenant, prop string, ups map[string]*upstream) compose.Request {
	return compose.Request{
		Kind: "dashboard", Prefix: ids.Dashboard, TenantID: tenant, PropertyID: prop, Role: "manager",
		TTL: 30 * time.Second, Total: 800 * time.Millisecond,
		Prepare: func(context.Context) []compose.Widget {
			var ws []compose.Widget
			for _, n := range []string{"today", "revenue", "alerts"} {
				if u, ok := ups[n]; ok {
					ws = append(ws, compose.Widget{Name: n, Budget: 300 * time.Millisecond, Fetch: u.fetch})
				}
			}
			return ws
		},
	}
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
	ups["alerts"].hang.Store(true)
	start := time.Now()
	snap, _, err := c.Get(context.Background(), request(ids.New(ids.Tenant), ids.New(ids.Property), ups))
	took := time.Since(start)
	if err != nil || !snap.Partial || snap.Staleness["alerts"] != compose.Unavailable || snap.Staleness["today"] != compose.Fresh {
		t.Fatalf("hung alerts: %+v err %v", snap, err)
	}
	// The hang lasts 2 s; the answer must not wait for it.
	if took >= 1500*time.Millisecond {
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
			ws = append(ws, compose.Widget{Name: n, Fetch: slow(u)})
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
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]int{}
	)
	start := make(chan struct{})
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			snap, _, err := composers[i%4].Get(context.Background(), req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				seen["error: "+err.Error()]++
				return
			}
			seen[snap.ID+fmt.Sprint(snap.Partial)]++
		}()
	}
	close(start)
	wg.Wait()
	if len(seen) != 1 {
		t.Fatalf("answers = %v, want one snapshot for all 1000", seen)
	}
	for n, u := range ups {
		if got := u.calls.Load(); got != 1 {
			t.Errorf("widget %s fetched %d times, want exactly 1", n, got)
		}
	}
}

// A lease whose holder died (set by hand, no snapshot ever stored) does not
// leave the waiters without an answer.
func TestDeadLeaseHolder(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	c := compose.New(rdb, compose.Options{LeaseTTL: 300 * time.Millisecond})
	ctx := context.Background()
	tenant, prop := ids.New(ids.Tenant), ids.New(ids.Property)
	key := rdb.Key("snap", "dashboard", tenant, prop, "manager") + ":v0:g0"
	if err := rdb.Set(ctx, rdb.Key("lease")+":"+key, "1", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	ups := newUps()
	snap, _, err := c.Get(ctx, request(tenant, prop, ups))
	if err != nil || snap.Partial || ups["today"].calls.Load() != 1 {
		t.Fatalf("after a dead lease: %+v err %v calls %d", snap, err, ups["today"].calls.Load())
	}
}

func TestRedisDownStillComposes(t *testing.T) {
	t.Parallel()
	live := testenv.Redis(t)
	dead, err := redisx.Open(context.Background(), redisx.Config{Addr: live.Options().Addr, KeyPrefix: live.Prefix, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = dead.Close()
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
