package ids

import (
	"sort"
	"sync"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	good := New(Session)
	cases := []struct {
		name string
		p    Prefix
		in   string
		ok   bool
	}{
		{"fresh", Session, good, true},
		{"wrong prefix", Device, good, false},
		{"empty", Tenant, "", false},
		{"prefix only", Tenant, "ten_", false},
		{"short", Tenant, "ten_01ARZ3NDEKTSV4RRFFQ69G5FA", false},
		{"bad alphabet", Tenant, "ten_01ARZ3NDEKTSV4RRFFQ69G5FAU", false},
		{"overflow", Tenant, "ten_81ARZ3NDEKTSV4RRFFQ69G5FAV", false},
		{"lower case refused", Tenant, "ten_01arz3ndektsv4rrffq69g5fav", false},
		{"canonical", Tenant, "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV", true},
		{"sql", Tenant, "ten_'; drop table x; --", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Valid(tc.p, tc.in); got != tc.ok {
				t.Fatalf("Valid(%q, %q) = %v, want %v", tc.p, tc.in, got, tc.ok)
			}
		})
	}
}

func TestNewIsUniqueAndOrderedUnderConcurrency(t *testing.T) {
	t.Parallel()
	const n = 2000
	var mu sync.Mutex
	seen := make(map[string]bool, n)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 8 {
				id := New(Activity)
				mu.Lock()
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("got %d unique ids, want %d", len(seen), n)
	}
	// Sequential ids from one goroutine sort in creation order.
	var seq []string
	for range 100 {
		seq = append(seq, New(Activity))
	}
	if !sort.StringsAreSorted(seq) {
		t.Fatal("sequential ids are not in creation order")
	}
}
