// Package fleet starts every fake property-scoped upstream service at once,
// each on its own port, all answering from one demo.Ops so their numbers
// agree (docs/UPSTREAMS.md).
package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/infra/fakes/housekeeping"
	"github.com/melmastoon/bff-backoffice/infra/fakes/maintenance"
	"github.com/melmastoon/bff-backoffice/infra/fakes/notification"
	"github.com/melmastoon/bff-backoffice/infra/fakes/reservation"
	"github.com/melmastoon/bff-backoffice/infra/fakes/revenue"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/infra/fakes/syncsvc"
)

// Service names, as keys of URLs, in stack.json's upstreams and in
// <SERVICE>_SERVICE_URL (upper-cased, "-" → "_").
const (
	Reservation    = "reservation"
	Housekeeping   = "housekeeping"
	Maintenance    = "maintenance"
	Revenue        = "revenue"
	AIOrchestrator = "ai-orchestrator"
	Notification   = "notification"
	Sync           = "sync"
)

// Names returns every service name, sorted.
func Names() []string {
	return []string{AIOrchestrator, Housekeeping, Maintenance, Notification, Reservation, Revenue, Sync}
}

// EnvVar is the variable of a service's base URL: "AI_ORCHESTRATOR_SERVICE_URL".
func EnvVar(service string) string {
	b := []byte(service)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b) + "_SERVICE_URL"
}

// Fleet is the running fakes.
type Fleet struct {
	// URLs are the base URLs by service name.
	URLs map[string]string
	// Ops is the generator every fake answers from.
	Ops *demo.Ops

	// The services, for their request logs and fakes.
	Reservation    *reservation.Service
	Housekeeping   *housekeeping.Service
	Maintenance    *maintenance.Service
	Revenue        *revenue.Service
	AIOrchestrator *aiorchestrator.Service
	Notification   *notification.Service
	Sync           *syncsvc.Service

	services map[string]*scoped.Service
	servers  []*fakes.Server
}

// Start serves ds as of the wall clock, every fake on 127.0.0.1:0; opts
// apply to each fake (e.g. fakes.WithLatency).
func Start(ds *demo.Dataset, opts ...fakes.Option) (*Fleet, error) {
	return StartOps(demo.NewOps(ds, nil), opts...)
}

// StartOps is Start with a given generator, e.g. one on a fixed clock.
func StartOps(ops *demo.Ops, opts ...fakes.Option) (_ *Fleet, err error) {
	f := &Fleet{
		URLs:           map[string]string{},
		Ops:            ops,
		Reservation:    reservation.New(ops, opts...),
		Housekeeping:   housekeeping.New(ops, opts...),
		Maintenance:    maintenance.New(ops, opts...),
		Revenue:        revenue.New(ops, opts...),
		AIOrchestrator: aiorchestrator.New(ops, opts...),
		Notification:   notification.New(ops, opts...),
		Sync:           syncsvc.New(ops, opts...),
	}
	f.services = map[string]*scoped.Service{
		Reservation:    f.Reservation.Service,
		Housekeeping:   f.Housekeeping.Service,
		Maintenance:    f.Maintenance.Service,
		Revenue:        f.Revenue.Service,
		AIOrchestrator: f.AIOrchestrator.Service,
		Notification:   f.Notification.Service,
		Sync:           f.Sync.Service,
	}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = f.Close(ctx)
		}
	}()
	for _, name := range slices.Sorted(maps.Keys(f.services)) {
		srv, err := fakes.Listen("127.0.0.1:0", f.services[name].Fake())
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		f.servers = append(f.servers, srv)
		f.URLs[name] = srv.URL
	}
	return f, nil
}

// URL is the base URL of service ("" when unknown).
func (f *Fleet) URL(service string) string { return f.URLs[service] }

// Fake is the stats-and-faults wrapper of service, nil when unknown.
func (f *Fleet) Fake(service string) *fakes.Fake {
	if s, ok := f.services[service]; ok {
		return s.Fake()
	}
	return nil
}

// Service is the fake of service with its request log, nil when unknown.
func (f *Fleet) Service(service string) *scoped.Service { return f.services[service] }

// Env is every <SERVICE>_SERVICE_URL of the fleet, for a function's
// configuration.
func (f *Fleet) Env() map[string]string {
	env := make(map[string]string, len(f.URLs))
	for name, u := range f.URLs {
		env[EnvVar(name)] = u
	}
	return env
}

// Close releases hanging requests and stops every server, waiting at most
// until ctx ends.
func (f *Fleet) Close(ctx context.Context) error {
	var errs []error
	for _, s := range f.servers {
		errs = append(errs, s.Close(ctx))
	}
	f.servers = nil
	return errors.Join(errs...)
}
