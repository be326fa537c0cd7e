package session_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/session"
)

// roundTrips counts what a client sends: each command on its own, each
// pipeline once.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// getRider reads one key in whatever pipeline it is queued in.
type getRider struct {
	key string
	cmd *redis.StringCmd
}

func (g *getRider) Queue(ctx context.Context, pipe redis.Pipeliner) { g.cmd = pipe.Get(ctx, g.key) }

// A resumed session's resolve carries a rider in its one round trip; Known
// is the instance's guess of the device's session once it has resolved it.
func TestResolveCarriesRidersInItsRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if k := f.m.Known(f.p); k != nil {
		t.Fatalf("Known before any request = %s, want nil", k.ID)
	}
	s := f.open(t)
	if _, _, err := f.m.Resolve(ctx, f.p, "", session.Client{}); err != nil { // decodes the stored session
		t.Fatal(err)
	}
	if k := f.m.Known(f.p); k == nil || k.ID != s.ID {
		t.Fatalf("Known = %v, want session %s", k, s.ID)
	}
	other := principal(f.clock.Now())
	if k := f.m.Known(other); k != nil {
		t.Errorf("Known of another device = %s, want nil", k.ID)
	}

	key := f.rdb.Key("rider", "probe")
	if err := f.rdb.Set(ctx, key, "hello", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var rt roundTrips
	f.rdb.AddHook(&rt)
	r := &getRider{key: key}
	got, opened, err := f.m.Resolve(ctx, f.p, "", session.Client{}, r, nil)
	if err != nil || opened || got.ID != s.ID {
		t.Fatalf("Resolve = %v, %v, %v; want session %s resumed", got, opened, err, s.ID)
	}
	if n := rt.n.Load(); n != 1 {
		t.Errorf("the resolve with a rider took %d round trips, want 1", n)
	}
	if v, err := r.cmd.Result(); v != "hello" || err != nil {
		t.Errorf("the rider read %q, %v; want hello", v, err)
	}
}

// A Redis that lost its scripts (restarted, failed over) answers the
// pipelined EVALSHA with NOSCRIPT: the resolve is sent again in full and
// succeeds; the rider sees an error, for its owner to read again itself.
func TestResolveWithRiderAfterScriptFlush(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.open(t)
	if err := f.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r := &getRider{key: f.rdb.Key("rider", "absent")}
	got, _, err := f.m.Resolve(ctx, f.p, "", session.Client{}, r)
	if err != nil || got.ID != s.ID {
		t.Fatalf("Resolve after SCRIPT FLUSH = %v, %v; want session %s", got, err, s.ID)
	}
	if r.cmd == nil {
		t.Fatal("the rider was never queued")
	}
}
