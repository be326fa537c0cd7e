package session_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// limitDirectory is a tenant-service that also answers tenants' limits.
type limitDirectory struct {
	*directory
	mu     sync.Mutex
	limits session.Limits
	err    error
	reads  int
}

func (d *limitDirectory) TenantLimits(context.Context, string) (session.Limits, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	return d.limits, d.err
}

func (d *limitDirectory) set(l session.Limits, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.limits, d.err = l, err
}

func (d *limitDirectory) readCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

// device is another device of f's operator.
func (f *fixture) device() auth.Principal {
	p := f.p
	p.DeviceID = ids.New(ids.Device)
	return p
}

// burst resolves p until it is refused (at most max times) and returns how
// many were let through and the refusal.
func burst(t *testing.T, f *fixture, p auth.Principal, max int) (int, *apperr.Error) {
	t.Helper()
	for i := range max {
		_, _, err := f.m.Resolve(context.Background(), p, "", session.Client{})
		if err == nil {
			continue
		}
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.RateLimited {
			t.Fatalf("request %d: %v, want RATE_LIMITED or success", i+1, err)
		}
		return i, ae
	}
	return max, nil
}

func TestRateLimitDeviceBurstThenRefill(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // no LimitSource: the defaults, 20/s with a burst of 60
	n, refused := burst(t, f, f.p, 100)
	if n != 60 || refused == nil {
		t.Fatalf("%d requests before a refusal (%v), want the default burst of 60", n, refused)
	}
	if refused.RetryAfter != 1 || !strings.Contains(refused.Detail, "device") {
		t.Fatalf("refusal %+v: want Retry-After 1 (a token is back in 50 ms, rounded up) naming the device", refused)
	}
	// Another device of the same operator and tenant has its own bucket.
	if n, _ := burst(t, f, f.device(), 60); n != 60 {
		t.Fatalf("another device: %d of 60 let through", n)
	}
	// One token is back after 50 ms at 20/s, and only one.
	f.clock.Add(50 * time.Millisecond)
	if n, _ := burst(t, f, f.p, 5); n != 1 {
		t.Fatalf("after 50 ms: %d let through, want 1", n)
	}
	// Long idle refills to the burst, never beyond it.
	f.clock.Add(time.Hour)
	if n, _ := burst(t, f, f.p, 100); n != 60 {
		t.Fatalf("after an hour: %d let through, want the burst of 60", n)
	}
}

func TestRateLimitTenantCapsItsDevices(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// Tenant: 25/s (and a burst of 25); devices 5 each.
	if err := f.m.StoreLimits(ctx, f.p.TenantID, session.Limits{DevicePerSecond: 1, DeviceBurst: 5, TenantPerSecond: 25}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// A device past its own burst is refused without spending the
	// tenant's tokens: its 20 extra attempts leave the tenant 20.
	if n, refused := burst(t, f, f.p, 25); n != 5 || !strings.Contains(refused.Detail, "device") {
		t.Fatalf("first device: %d let through (%v), want 5 refused by its own bucket", n, refused)
	}
	for range 19 {
		if _, _, err := f.m.Resolve(ctx, f.p, "", session.Client{}); apperr.CodeOf(err) != apperr.RateLimited {
			t.Fatalf("over the device's limit: %v", err)
		}
	}
	total := 5
	var last *apperr.Error
	for range 10 {
		n, refused := burst(t, f, f.device(), 5)
		total += n
		if refused != nil {
			last = refused
		}
	}
	if total != 25 || last == nil || !strings.Contains(last.Detail, "tenant") || last.RetryAfter != 1 {
		t.Fatalf("11 devices let through %d in all (last refusal %+v), want the tenant's 25 and a refusal naming the tenant", total, last)
	}
	// A second later the tenant has 25 tokens again.
	f.clock.Add(time.Second)
	if n, _ := burst(t, f, f.device(), 5); n != 5 {
		t.Fatalf("a second later: %d let through, want 5", n)
	}
}

func TestRateLimitRetryAfterInWholeSeconds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// 0.2/s: the next token is 5 s away.
	if err := f.m.StoreLimits(context.Background(), f.p.TenantID, session.Limits{DevicePerSecond: 0.2, DeviceBurst: 1, TenantPerSecond: 10}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if n, refused := burst(t, f, f.p, 3); n != 1 || refused.RetryAfter != 5 {
		t.Fatalf("%d let through, refusal %+v; want 1 and Retry-After 5", n, refused)
	}
	f.clock.Add(4500 * time.Millisecond)
	if _, refused := burst(t, f, f.p, 1); refused == nil || refused.RetryAfter != 1 {
		t.Fatalf("500 ms before the token: %+v, want Retry-After 1 (rounded up)", refused)
	}
}

func TestRateLimitsFollowTenantService(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ld := &limitDirectory{directory: f.dir, limits: session.Limits{DevicePerSecond: 1, DeviceBurst: 3, TenantPerSecond: 100}}
	f.m = session.NewManager(f.rdb, ld, session.Options{PIIKey: []byte("k"), Now: f.clock.Now})
	// The request that opens the session reads the limits (it is itself
	// counted under the defaults); from the next one the device's burst
	// is 3.
	if n, _ := burst(t, f, f.p, 10); n != 1+3 || ld.readCount() != 1 {
		t.Fatalf("%d let through with %d limit reads, want the opening request and 3, and 1 read", n, ld.readCount())
	}
	// Requests that read no access read no limits either.
	f.clock.Add(10 * time.Second)
	if _, _, err := f.m.Resolve(context.Background(), f.p, "", session.Client{}); err != nil || ld.readCount() != 1 {
		t.Fatalf("Resolve = %v with %d limit reads, want no new read", err, ld.readCount())
	}
	// Raised upstream: in force once the access is re-read (a raised
	// burst fills at the device's rate, it is not handed out at once).
	ld.set(session.Limits{DevicePerSecond: 1, DeviceBurst: 50, TenantPerSecond: 100}, nil)
	f.clock.Add(4 * time.Minute)
	if _, _, err := f.m.Resolve(context.Background(), f.p, "", session.Client{}); err != nil || ld.readCount() != 2 {
		t.Fatalf("Resolve = %v with %d limit reads, want a second read with the access", err, ld.readCount())
	}
	f.clock.Add(time.Minute)
	if n, _ := burst(t, f, f.p, 60); n != 50 {
		t.Fatalf("after the access re-read: %d let through, want the new burst of 50", n)
	}
	// tenant-service failing its limits does not fail the request; the
	// stored limits stay until they lapse.
	ld.set(session.Limits{}, errors.New("tenant-service down"))
	f.clock.Add(5 * time.Minute)
	if n, _ := burst(t, f, f.p, 60); n != 50 || ld.readCount() != 3 {
		t.Fatalf("with the limits read failing: %d let through with %d reads, want 50 and 3", n, ld.readCount())
	}
}
