// Package mirrortest holds test helpers for services built on
// shared/mirror.
package mirrortest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

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
