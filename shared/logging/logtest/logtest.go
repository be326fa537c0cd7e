// Package logtest routes a logger's output into a test's log, so what code
// logs shows next to the test that made it log (and only when the test
// fails or runs with -v).
package logtest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// TestLogger returns a logger, at debug level, whose records are printed
// through t.Log, one line each.
func TestLogger(t testing.TB) *slog.Logger {
	w := &tbWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(logging.Handler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// Context returns ctx carrying TestLogger(t), for code that logs through
// logging.From(ctx).
func Context(ctx context.Context, t testing.TB) context.Context {
	return logging.WithLogger(ctx, TestLogger(t))
}

// tbWriter hands whole lines to t.Log. Records that arrive after the test
// ended (from goroutines it started) are dropped: t.Log would panic.
type tbWriter struct {
	t      testing.TB
	mu     sync.Mutex
	done   bool
	buffer bytes.Buffer
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buffer.Write(p)
	for {
		line, err := w.buffer.ReadString('\n')
		if err != nil {
			// An incomplete line waits for the rest.
			w.buffer.Reset()
			w.buffer.WriteString(line)
			return len(p), nil
		}
		w.t.Log(strings.TrimSuffix(line, "\n"))
	}
}

func (w *tbWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}
