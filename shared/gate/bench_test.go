package gate_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/session/sessiontest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

type nopRecorder struct{}

func (nopRecorder) Record(context.Context, ...activity.Entry) error { return nil }

// unlimited is the test directory with rate limits no benchmark reaches:
// the benchmark measures the pipeline, not the limiter's refusals.
type unlimited struct{ directory }

func (unlimited) TenantLimits(context.Context, string) (session.Limits, error) {
	return session.Limits{DevicePerSecond: 1e9, DeviceBurst: 1e9, TenantPerSecond: 1e9}, nil
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, ...events.Envelope) error { return nil }

// BenchmarkGate is one resumed-session request through httpx.Wrap and the
// gate, a handler that answers a small body: the allocations and CPU the
// pipeline adds to every request (go test -bench Gate -benchmem). With the
// ledger, each request also waits for its row's group commit.
func BenchmarkGate(b *testing.B) {
	for _, v := range []struct {
		name   string
		ledger bool
	}{{"no-op recorder", false}, {"ledger", true}} {
		b.Run(v.name, func(b *testing.B) {
			f := newFixture(b, nil)
			f.g.Verifier, f.g.Publisher, f.g.Ledger = f.v, nopPublisher{}, nopRecorder{}
			f.g.Sessions = session.NewManager(testenv.Redis(b), unlimited{f.dir}, session.Options{PIIKey: sessiontest.PIIKey})
			if v.ledger {
				f.g.Ledger = f.ledger
			}
			// As deployed: JSON logs (to nowhere), not the test's log.
			f.g.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
			op, dev := f.operator(false)
			tok := f.token(op, dev)
			h := httpx.Wrap(f.g.Log, f.g.Handle(func(ctx context.Context, c *gate.Call) (gate.Result, error) {
				c.Note = activity.Note{Category: activity.CategoryView, Action: activity.ActionDashboardViewed}
				return gate.Result{Status: http.StatusOK, Body: map[string]string{"ok": "yes"}}, nil
			}))
			serve := func() int {
				r := httptest.NewRequest(http.MethodGet, "/v1/thing", nil)
				r.Header.Set("Authorization", tok)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Code
			}
			if code := serve(); code != http.StatusOK { // opens the session
				b.Fatalf("first request: %d", code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if code := serve(); code != http.StatusOK {
					b.Fatalf("request: %d", code)
				}
			}
		})
	}
}
