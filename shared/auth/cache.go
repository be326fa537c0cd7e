package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Verified tokens are remembered for a short while: the desktop sends the
// same token on every request for hours, and an ECDSA verification costs
// about a third of the CPU of a cached dashboard answer. The key is the
// SHA-256 of the whole token, so only the very bytes that verified are
// recognised; an entry lives at most verifiedTTL and never past the
// token's own exp (no leeway: the cache is never more lenient than the
// parser). What it cannot see is a key withdrawn from the JWKS within that
// minute — revocation of sessions goes through session cutoffs, which are
// checked on every request regardless.
const (
	verifiedTTL = time.Minute
	verifiedMax = 10_000
)

type verifiedEntry struct {
	p     Principal
	until time.Time
}

type verifiedCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedEntry
}

func (c *verifiedCache) get(key [sha256.Size]byte, now time.Time) (Principal, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) {
		return Principal{}, false
	}
	return e.p, true
}

func (c *verifiedCache) put(key [sha256.Size]byte, p Principal, now time.Time) {
	until := now.Add(verifiedTTL)
	if p.ExpiresAt.Before(until) {
		until = p.ExpiresAt
	}
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[sha256.Size]byte]verifiedEntry)
	}
	if len(c.m) >= verifiedMax {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		// Still full of live entries (a flood of distinct tokens): start
		// over rather than grow; the cost is one verification each.
		if len(c.m) >= verifiedMax {
			clear(c.m)
		}
	}
	c.m[key] = verifiedEntry{p: p, until: until}
}
