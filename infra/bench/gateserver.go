package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/melmastoon/bff-backoffice/functions/dashboard"
	sessionfn "github.com/melmastoon/bff-backoffice/functions/session"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// gateServer serves GET /v1/session and GET /v1/dashboard through one gate
// built from the dev server's configuration (as setup.Gate builds every
// function's), whose activity recorder can be switched between runs (the
// real ledger, a no-op), so variants share every other cost. The dev
// server supplies the fakes, the demo data and token minting.
type gateServer struct {
	*devserver.Server
	url      string           // the gate's base URL
	ledger   *activity.Ledger // what setup.Gate built
	rec      *switchRecorder  // what the handlers call
	events   *switchEnqueuer  // where the views' telemetry events go
	postgres pgServer         // the durability settings the figures rest on
	http     *http.Server
	res      *setup.Resources
}

// startGateServer starts it, adding to rep the warning of a Postgres that
// does not flush commits. The caller closes it.
func startGateServer(ctx context.Context, env Env, rep *Report) (_ *gateServer, err error) {
	pgs, err := serverOf(ctx, env.AdminURL)
	if err != nil {
		return nil, err
	}
	if wn := pgs.warning(); wn != "" {
		rep.Warnings = append(rep.Warnings, wn)
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: env.RepoRoot, DatabaseURL: env.AppURL, RedisAddr: env.RedisAddr, RedisPrefix: env.RedisPrefix,
		ProjectID: env.ProjectID, PushSubscriptions: true, Log: env.Log,
	})
	if err != nil {
		return nil, err
	}
	unthrottled(srv.Tenant, srv.Demo)
	gs := &gateServer{Server: srv, postgres: pgs}
	defer func() {
		if err != nil {
			gs.Close()
		}
	}()
	log := env.Log
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	g, res, err := setup.Gate(ctx, srv.Lookuper(), log)
	if err != nil {
		return nil, err
	}
	gs.res = res
	svc, err := setup.Views(ctx, srv.Lookuper(), log, res, setup.AllUpstreams...)
	if err != nil {
		return nil, err
	}
	ledger, ok := g.Ledger.(*activity.Ledger)
	if !ok {
		return nil, fmt.Errorf("setup.Gate built a %T recorder, not *activity.Ledger", g.Ledger)
	}
	// Installed before the first request, and switched atomically between
	// runs: the handlers read it on every request.
	gs.rec = &switchRecorder{}
	gs.rec.use(ledger)
	g.Ledger = gs.rec
	gs.ledger = ledger
	q, ok := svc.Publisher.(events.Enqueuer)
	if !ok {
		return nil, fmt.Errorf("setup.Views built a %T publisher, which cannot enqueue", svc.Publisher)
	}
	gs.events = &switchEnqueuer{}
	gs.events.use(q)
	svc.Publisher = gs.events

	mux := http.NewServeMux()
	mux.Handle("/v1/session", sessionfn.New(g))
	mux.Handle("/v1/dashboard", dashboard.New(g, svc))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	gs.url = "http://" + ln.Addr().String()
	gs.http = &http.Server{Handler: httpx.Wrap(log, mux), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = gs.http.Serve(ln) }()
	return gs, nil
}

// switchEnqueuer is the views' telemetry publisher, switched atomically
// between runs like switchRecorder: the real Pub/Sub publisher, or nil to
// drop the events (bench only, never deployed).
type switchEnqueuer struct {
	cur  atomic.Pointer[events.Enqueuer]
	sent atomic.Int64 // events handed on, proof of the switch
}

func (s *switchEnqueuer) use(q events.Enqueuer) { s.cur.Store(&q) }

func (s *switchEnqueuer) Enqueue(ctx context.Context, evs ...events.Envelope) {
	if q := *s.cur.Load(); q != nil {
		s.sent.Add(int64(len(evs)))
		q.Enqueue(ctx, evs...)
	}
}

func (s *switchEnqueuer) Publish(ctx context.Context, evs ...events.Envelope) error {
	s.Enqueue(ctx, evs...)
	return nil
}

// Close stops the gate's server, its clients and the dev server.
func (gs *gateServer) Close() {
	if gs.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := gs.http.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			_ = gs.http.Close()
		}
	}
	if gs.res != nil {
		gs.res.Close()
	}
	gs.Server.Close()
}
