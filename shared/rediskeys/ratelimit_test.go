package rediskeys

import (
	"testing"
	"time"
)

// Running instances share these names: a rename would reset every bucket
// and orphan the old keys, so they are pinned.
func TestRateLimitKeys(t *testing.T) {
	t.Parallel()
	k := New("bffbo:")
	for _, c := range []struct{ got, want string }{
		{k.RateDevice("ten_1", "dev_2"), "bffbo:rl-dev:ten_1:dev_2"},
		{k.RateTenant("ten_1"), "bffbo:rl-tenant:ten_1"},
		{k.RateLimits("ten_1"), "bffbo:rl-limits:ten_1"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if RateLimitsTTL != 30*time.Minute {
		t.Errorf("RateLimitsTTL = %v", RateLimitsTTL)
	}
}
