package e2e

import (
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
)

// The second demo tenant has the default limits (20/s, a burst of 60 per
// device): one device driven past its burst gets 429 RATE_LIMITED with
// Retry-After, while another device of the tenant is served, and the first
// tenant's device (burst 5,000) is not throttled at the same pace.
func TestRateLimitThroughTheDevServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	casa := e.srv.Demo.Tenants[1]
	if c := casa.Config().RateLimits; c.DeviceBurst != 60 || c.DevicePerSecond != 20 {
		t.Fatalf("second demo tenant's limits %+v, want the defaults", c)
	}
	tn, op := e.operator(1, func(o demo.Operator) bool { return len(o.Devices) == 2 && len(o.PropertyScope) > 0 })
	hard, other := e.mint(tn, op, 0, nil), e.mint(tn, op, 1, nil)

	// The bucket refills at 20/s while the loop runs, so more than 60 may
	// pass: at most what refilled in the loop's own time (slow on a loaded
	// machine), and a token of slack for the second boundaries.
	const most = 200
	var refused resp
	n := 0
	start := time.Now()
	for ; n < most; n++ {
		r := e.do("GET", "/v1/session", hard, "")
		if r.StatusCode == 429 {
			refused = r
			break
		}
		if r.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", n+1, r.StatusCode, r.body)
		}
	}
	refill := int(20*time.Since(start).Seconds()) + 1
	if refused.Response == nil || n < 60 || n > 60+refill {
		t.Fatalf("%d requests let through before a 429 (of %d), want the burst of 60 and at most the %d that refilled meanwhile", n, most, refill)
	}
	if code := refused.problem(t); code != "MELMASTOON.BFF.BACKOFFICE.RATE_LIMITED" {
		t.Fatalf("429 code %s", code)
	}
	if ra := refused.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After = %q, want 1 (whole seconds, the next token is 50 ms away)", ra)
	}

	if r := e.do("GET", "/v1/session", other, ""); r.StatusCode != 200 {
		t.Fatalf("another device of the tenant: %d %s", r.StatusCode, r.body)
	}

	harbour, fd := e.operator(0, hasRole("front_desk"))
	tok := e.mint(harbour, fd, 0, nil)
	for i := range most {
		if r := e.do("GET", "/v1/session", tok, ""); r.StatusCode != 200 {
			t.Fatalf("first tenant's device, request %d: %d %s", i+1, r.StatusCode, r.body)
		}
	}
}
