package logtest_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
)

// recorder is a testing.TB that keeps what is logged through it.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	lines    []string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Log(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range args {
		r.lines = append(r.lines, a.(string))
	}
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func TestTestLoggerPrintsThroughTLog(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	l := logtest.TestLogger(r)
	l.Debug("composing", "widget", "arrivals")
	l.Warn("upstream slow", "service", "reservation-service")
	if len(r.lines) != 2 {
		t.Fatalf("t.Log got %q, want one line per record", r.lines)
	}
	for i, want := range []string{"level=DEBUG msg=composing widget=arrivals", "level=WARN msg=\"upstream slow\" service=reservation-service"} {
		if !strings.Contains(r.lines[i], want) || strings.HasSuffix(r.lines[i], "\n") {
			t.Errorf("line %d = %q, want it to hold %q, without a newline", i, r.lines[i], want)
		}
	}
	// After the test ends, a late record from a goroutine must not reach
	// t.Log (which would panic on a finished test).
	for _, f := range r.cleanups {
		f()
	}
	l.Info("late")
	if len(r.lines) != 2 {
		t.Errorf("a record after cleanup reached t.Log: %q", r.lines)
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	ctx := logtest.Context(context.Background(), r)
	logging.From(ctx).InfoContext(ctx, "from the context")
	if len(r.lines) != 1 || !strings.Contains(r.lines[0], "from the context") {
		t.Fatalf("t.Log got %q", r.lines)
	}
	// The real thing, for the eye: shows under -v.
	logtest.TestLogger(t).Info("logtest works with a real *testing.T")
}
