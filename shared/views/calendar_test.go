package views_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// calendarUpstream is a tenant-service answering the properties of one
// tenant, or hanging until the request is cancelled while hang is set.
type calendarUpstream struct {
	calls atomic.Int32
	hang  atomic.Bool
}

func (u *calendarUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	if u.hang.Load() {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"properties":[{"id":"` + calProp + `","name":"Harbour","timezone":"Pacific/Auckland"}]}`))
}

var (
	calTenant = ids.New(ids.Tenant)
	calProp   = ids.New(ids.Property)
)

func newCalendar(t *testing.T, u *calendarUpstream, now *atomic.Pointer[time.Time]) *views.Calendar {
	t.Helper()
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	tc, err := tenant.NewClient(tenant.Config{URL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &views.Calendar{Tenant: tc, Budget: 50 * time.Millisecond, Now: func() time.Time { return *now.Load() }}
}

// A hung tenant-service costs one lookup budget, not the composition's:
// the stale zone keeps answering, no call is made again before RetryAfter,
// and one is made after it.
func TestCalendarHungTenantServiceDegradesToStale(t *testing.T) {
	t.Parallel()
	u := &calendarUpstream{}
	var now atomic.Pointer[time.Time]
	// 2026-12-03 20:00 UTC is already 2026-12-04 in Auckland.
	t0 := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	now.Store(&t0)
	c := newCalendar(t, u, &now)
	ctx := context.Background()
	if got := c.Today(ctx, calTenant, calProp); got != "2026-12-04" {
		t.Fatalf("Today = %s, want the Auckland date 2026-12-04", got)
	}

	u.hang.Store(true)
	t1 := t0.Add(views.DefaultCalendarTTL + time.Second) // zones due for a refresh
	now.Store(&t1)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // the composition's deadline, far away
	defer cancel()
	start := time.Now()
	if got := c.Today(ctx, calTenant, calProp); got != "2026-12-04" {
		t.Fatalf("Today with tenant-service hung = %s, want the stale zone's date", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the lookup waited %v; its budget is 50ms, the composition's 5s", d)
	}
	calls := u.calls.Load()

	// Within RetryAfter: no call at all.
	t2 := t1.Add(views.DefaultCalendarRetryAfter - time.Second)
	now.Store(&t2)
	c.Today(ctx, calTenant, calProp)
	if got := u.calls.Load(); got != calls {
		t.Fatalf("calls within RetryAfter: %d, want %d", got, calls)
	}
	// After it, tenant-service is asked again (and is back).
	u.hang.Store(false)
	t3 := t1.Add(views.DefaultCalendarRetryAfter + time.Second)
	now.Store(&t3)
	c.Today(ctx, calTenant, calProp)
	if got := u.calls.Load(); got != calls+1 {
		t.Fatalf("calls after RetryAfter: %d, want %d", got, calls+1)
	}
}

// With nothing cached and tenant-service hung, the date is UTC's, and 50
// concurrent compositions of the tenant share one lookup.
func TestCalendarColdAndHungSharesOneLookup(t *testing.T) {
	t.Parallel()
	u := &calendarUpstream{}
	u.hang.Store(true)
	var now atomic.Pointer[time.Time]
	t0 := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	now.Store(&t0)
	c := newCalendar(t, u, &now)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := c.Today(context.Background(), calTenant, calProp); got != "2026-12-03" {
				t.Errorf("Today = %s, want UTC's 2026-12-03", got)
			}
		}()
	}
	wg.Wait()
	if got := u.calls.Load(); got != 1 {
		t.Fatalf("tenant-service calls = %d, want 1 shared by all", got)
	}
}
