package testenv_test

import (
	"context"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestProjectID(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	seen := map[string]bool{}
	for range 100 {
		id := testenv.ProjectID(t)
		if !valid.MatchString(id) {
			t.Fatalf("ProjectID() = %q, not a valid GCP project id", id)
		}
		if seen[id] {
			t.Fatalf("ProjectID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestRedisDeletesTheTestsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var prefix, addr string
	ok := t.Run("uses", func(t *testing.T) {
		rdb := testenv.Redis(t)
		prefix, addr = rdb.Prefix, rdb.Options().Addr
		for i := range 2500 { // more than one SCAN page
			if err := rdb.Set(ctx, rdb.Key("k", string(rune('a'+i%26)), strconv.Itoa(i)), "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		// Closing early must not stop the clean-up.
		_ = rdb.Close()
	})
	if !ok {
		return
	}
	rc := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	defer rc.Close()
	// The whole keyspace, page by page: one SCAN call on a shared Redis
	// may return an empty page before the last.
	left := 0
	for cursor := uint64(0); ; {
		keys, next, err := rc.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		left += len(keys)
		if cursor = next; cursor == 0 {
			break
		}
	}
	if left != 0 {
		t.Errorf("%d keys under %s left after the test", left, prefix)
	}
}

// AtOnce calls fn once for every index and returns only after the last.
func TestAtOnce(t *testing.T) {
	t.Parallel()
	const n = 64
	var calls [n]atomic.Int32
	testenv.AtOnce(n, func(i int) { calls[i].Add(1) })
	for i := range calls {
		if got := calls[i].Load(); got != 1 {
			t.Errorf("fn(%d) ran %d times, want 1", i, got)
		}
	}
}
