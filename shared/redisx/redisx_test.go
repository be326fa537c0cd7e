package redisx_test

// Against the real Redis of `make test` (BFF_TEST_REDIS_ADDR).

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	var cfg redisx.Config
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{"REDIS_ADDR": "10.0.0.3:6379"}), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.KeyPrefix != "bffbo:" || cfg.PoolSize != 32 || cfg.DB != 0 {
		t.Fatalf("defaults %+v", cfg)
	}
	err := redisx.Config{Addr: "", DB: 16, PoolSize: 0}.Validate()
	for _, want := range []string{"REDIS_ADDR", "REDIS_DB", "REDIS_POOL_SIZE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want every broken rule, %s among them", err, want)
		}
	}
}

func TestOpenUsesTheRealServer(t *testing.T) {
	t.Parallel()
	addr := testenv.Env(t, "BFF_TEST_REDIS_ADDR")
	ctx := context.Background()
	prefix := "t" + testenv.Unique() + ":"
	rdb, err := redisx.Open(ctx, redisx.Config{Addr: addr, KeyPrefix: prefix, PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	log := logtest.TestLogger(t)

	key := rdb.Key("scratch", "a")
	if key != prefix+"scratch:a" || rdb.KeyNames().Session("bos_1") != prefix+"sess:bos_1" {
		t.Fatalf("keys %q, %q: want them under %q", key, rdb.KeyNames().Session("bos_1"), prefix)
	}
	if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	got, err := rdb.Get(ctx, key).Result()
	if err != nil || got != "v" {
		t.Fatalf("GET %s = %q, %v", key, got, err)
	}
	// The prefix isolates: the bare name is another key.
	if _, err := rdb.Get(ctx, "scratch:a").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET scratch:a without the prefix: %v, want nil reply", err)
	}
	// Memorystore's older engines reject CLIENT SETINFO; the client must
	// not send it, so the connection's name stays unset.
	if lib, err := rdb.Do(ctx, "CLIENT", "INFO").Text(); err == nil {
		log.Info("client info", "info", lib)
		if strings.Contains(lib, "lib-name=go-redis") {
			t.Errorf("CLIENT SETINFO was sent: %s", lib)
		}
	}
}

func TestOpenFailsFast(t *testing.T) {
	t.Parallel()
	addr := testenv.ClosedAddr(t)
	start := time.Now()
	_, err := redisx.Open(context.Background(), redisx.Config{Addr: addr, PoolSize: 1})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open(%s) = %v, want an error naming the address", addr, err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Open took %v to fail; a wrong address must fail at start, fast", d)
	}
	if _, err := redisx.Open(context.Background(), redisx.Config{Addr: addr, PoolSize: 0}); err == nil || !strings.Contains(err.Error(), "REDIS_POOL_SIZE") {
		t.Errorf("Open with an invalid config = %v, want the validation error", err)
	}
}
