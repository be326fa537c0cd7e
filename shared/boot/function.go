package boot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	// The buildpack's generated main imports funcframework, and vendoring
	// carries a package only when something the function links imports it:
	// importing it here saves every function the line.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/sethvargo/go-envconfig"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Lookuper is where a function reads its configuration: the process
// environment when deployed, a map in tests and the dev server.
type Lookuper = envconfig.Lookuper

// Function is one deployable function: the name it has in
// functions/manifest.json, the entry point it is registered under, and how
// it starts from configuration. Exactly one of StartHTTP (HTTP and
// scheduled functions) and StartEvent (Pub/Sub consumers) is set.
//
// Start is the one way a function is built: Register calls it with the
// process environment as deployed, and the dev server and the start-up
// test call it with a map pointing at their stack, so what runs locally is
// what deploys.
type Function struct {
	Name       string
	EntryPoint string
	StartHTTP  func(ctx context.Context, l Lookuper, log *slog.Logger) (HTTPFunc, error)
	StartEvent func(ctx context.Context, l Lookuper, log *slog.Logger) (EventFunc, error)
}

// HTTPFunc is a started HTTP function: its handler (the function's whole
// surface, /health included) and what releases its clients.
type HTTPFunc struct {
	Handler http.Handler
	Close   func()
	// Drain, when set, ends the function's long-lived requests (event
	// streams) so that a server shutting down need not wait for them.
	Drain func()
}

// EventFunc is a started event function: its consumer name (which keys the
// processed-event markers, so it must be stable across deploys), its
// handler, the Redis client holding the markers, and what releases its
// clients.
type EventFunc struct {
	Name   string
	Redis  *redisx.Client
	Handle consume.Func
	Close  func()
}

// CloudEvent is the function as Eventarc calls it in GCP.
func (e EventFunc) CloudEvent() func(context.Context, event.Event) error {
	return consume.Handler(e.Name, e.Redis, e.Handle)
}

// Push is the function behind a Pub/Sub push subscription (the emulator on
// the dev server): the same handler, another envelope around the message.
func (e EventFunc) Push() http.HandlerFunc { return consume.Push(e.Name, e.Redis, e.Handle) }

// Start builds f from configuration looked up in l, whichever kind it is.
// Exactly one of the results is set when err is nil.
func (f Function) Start(ctx context.Context, l Lookuper, log *slog.Logger) (_ *HTTPFunc, _ *EventFunc, err error) {
	defer derrors.Wrap(&err, "boot.Function.Start(%s)", f.Name)
	switch {
	case f.StartHTTP != nil && f.StartEvent == nil:
		h, err := f.StartHTTP(ctx, l, log)
		if err != nil {
			return nil, nil, err
		}
		return &h, nil, nil
	case f.StartEvent != nil && f.StartHTTP == nil:
		e, err := f.StartEvent(ctx, l, log)
		if err != nil {
			return nil, nil, err
		}
		return nil, &e, nil
	default:
		return nil, nil, errors.New("exactly one of StartHTTP and StartEvent must be set")
	}
}

// Register makes f the function the framework serves under f.EntryPoint,
// built from the process environment (see Lazy for when). Call it from the
// function package's init.
func (f Function) Register() {
	if f.StartEvent != nil {
		get := Lazy(f.EntryPoint, func(ctx context.Context, log *slog.Logger) (func(context.Context, event.Event) error, error) {
			e, err := f.StartEvent(ctx, envconfig.OsLookuper(), log)
			if err != nil {
				return nil, err
			}
			return e.CloudEvent(), nil
		})
		functions.CloudEvent(f.EntryPoint, func(ctx context.Context, ce event.Event) error {
			h, err := get()
			if err != nil {
				return err
			}
			return h(ctx, ce)
		})
		return
	}
	functions.HTTP(f.EntryPoint, HTTP(f.EntryPoint, func(ctx context.Context, log *slog.Logger) (http.Handler, error) {
		h, err := f.StartHTTP(ctx, envconfig.OsLookuper(), log)
		if err != nil {
			return nil, err
		}
		return h.Handler, nil
	}).ServeHTTP)
}

// Consumer starts an event function that needs only Redis: newFn gets the
// client and returns the handler. Most consumers are this.
func Consumer(name string, newFn func(*redisx.Client) consume.Func) func(context.Context, Lookuper, *slog.Logger) (EventFunc, error) {
	return func(ctx context.Context, l Lookuper, _ *slog.Logger) (EventFunc, error) {
		rdb, err := OpenRedis(ctx, l)
		if err != nil {
			return EventFunc{}, err
		}
		return EventFunc{Name: name, Redis: rdb, Handle: newFn(rdb), Close: func() { _ = rdb.Close() }}, nil
	}
}

// OpenRedis opens the Redis client configured in l.
func OpenRedis(ctx context.Context, l Lookuper) (_ *redisx.Client, err error) {
	defer derrors.Wrap(&err, "boot.OpenRedis")
	var cfg redisx.Config
	if err := config.LoadFrom(ctx, l, &cfg); err != nil {
		return nil, err
	}
	return redisx.Open(ctx, cfg)
}
