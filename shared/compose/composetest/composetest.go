// Package composetest checks what compose leaves in Redis, for the tests of
// compose and of the services that compose through it.
package composetest

import (
	"context"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// WantTTL fails t unless exactly one key matches pattern (below rdb's
// prefix) and it is stored with a TTL of want. Redis expires the keys, so
// the TTL a key was set with is what a test can check; up to 5 s may pass on
// a loaded machine between the SET and the PTTL, but more than want is a
// wrong TTL.
func WantTTL(t testing.TB, rdb *redisx.Client, what, pattern string, want time.Duration) {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, rdb.Prefix+pattern).Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("%s: keys %s = %v (%v), want one", what, pattern, keys, err)
	}
	got, err := rdb.PTTL(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got > want || got < want-5*time.Second {
		t.Errorf("%s TTL = %s, want %s", what, got, want)
	}
}
