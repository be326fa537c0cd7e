// Package mirrortest holds test helpers for services built on
// shared/mirror.
package mirrortest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
)

// OneWins runs put(0) … put(n-1) at once — n writes naming the same
// version — and fails t unless exactly one succeeds and every other is 412
// VERSION_CONFLICT naming version current, the one the winner made.
func OneWins(t testing.TB, n int, current int64, put func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	want := fmt.Sprintf("current version is %d", current)
	for i := range n {
		wg.Go(func() {
			err := put(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case apperr.Is(err, apperr.VersionConflict):
				conflicts++
				if e := apperr.From(err); e == nil || !strings.Contains(e.Detail, want) {
					t.Errorf("conflict detail = %v", err)
				}
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("wins %d, conflicts %d; want 1 and %d", wins, conflicts, n-1)
	}
}

// Race reads a document at version 1 with get, sends n writes naming its
// ETag at once (put(i, ifMatch); OneWins: exactly one wins, making version
// 2) and returns what get reads after, to hold against the owner's copy.
func Race[D interface{ ETag() string }](t testing.TB, n int, get func() (D, error), put func(i int, ifMatch string) error) D {
	t.Helper()
	d, err := get()
	if err != nil {
		t.Fatal(err)
	}
	OneWins(t, n, 2, func(i int) error { return put(i, d.ETag()) })
	after, err := get()
	if err != nil {
		t.Fatal(err)
	}
	return after
}

// Preconditions fails t unless put, a write of a document at version 1
// with If-Match ifMatch, refuses each If-Match a client can get wrong: none
// is 428 PRECONDITION_REQUIRED, a malformed one or version 0 400
// VALIDATION_FAILED, another version 412 VERSION_CONFLICT.
func Preconditions(t testing.TB, put func(ifMatch string) error) {
	t.Helper()
	for ifMatch, code := range map[string]apperr.Code{
		"": apperr.PreconditionRequired, "1": apperr.ValidationFailed, `"x"`: apperr.ValidationFailed, `"0"`: apperr.ValidationFailed,
		`"7"`: apperr.VersionConflict,
	} {
		if err := put(ifMatch); !apperr.Is(err, code) {
			t.Errorf("If-Match %q: %v, want %s", ifMatch, err, code)
		}
	}
}

// Hold makes an owner's reads wait, to stand in for a slow read-through.
// The zero Hold lets every read through.
type Hold struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait blocks a read for as long as the hold in place when it is called.
func (h *Hold) Wait() {
	h.mu.Lock()
	ch := h.ch
	h.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (h *Hold) set(ch chan struct{}) {
	h.mu.Lock()
	h.ch = ch
	h.mu.Unlock()
}

// SlowReadThrough fails t unless a read-through that fetched an old
// version and lands after a write-through leaves the newer mirror alone:
// get runs while h holds the owner's reads (it has fetched version 1 and
// waits), put writes version 2 meanwhile, then get may finish. Both that
// slow get and a later one must answer version 2 (version reads it off an
// answer); the slow get's answer is returned for further checks.
func SlowReadThrough[T any](t testing.TB, h *Hold, get func() (T, error), version func(T) int64, put func() error) T {
	t.Helper()
	release := make(chan struct{})
	h.set(release)
	done := make(chan T)
	go func() {
		d, err := get() // reads version 1, then waits
		if err != nil {
			t.Error(err)
		}
		done <- d
	}()
	time.Sleep(50 * time.Millisecond)
	h.set(nil)
	if err := put(); err != nil {
		t.Fatal(err)
	}
	close(release)
	var slow T
	select {
	case slow = <-done:
		if v := version(slow); v != 2 {
			t.Errorf("the slow read answered version %d; the mirror's newest is 2", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read-through never finished")
	}
	got, err := get()
	if err != nil || version(got) != 2 {
		t.Fatalf("mirror after the slow read = %d, %v; want 2", version(got), err)
	}
	return slow
}
