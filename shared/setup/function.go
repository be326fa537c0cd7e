package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/views"
	"github.com/melmastoon/bff-backoffice/shared/views/viewhttp"
)

// OnClose adds f to what Close releases (before the gate's own clients).
func (r *Resources) OnClose(f func()) { r.close = append(r.close, f) }

// OnDrain adds f to what ends the function's long-lived requests when its
// server shuts down (boot.HTTPFunc.Drain).
func (r *Resources) OnDrain(f func()) { r.drain = append(r.drain, f) }

// Builder is what a function behind the gate is built from: its gate and
// clients, its configuration, and opener methods for what else it needs.
// An opener that fails records the error (the first one wins) and returns
// a usable zero value, so a build reads as a list of what the function
// needs; Gated then refuses to start with that error.
type Builder struct {
	Ctx  context.Context // the start-up deadline
	L    boot.Lookuper
	Log  *slog.Logger
	Gate *gate.Gate
	Res  *Resources
	err  error
}

// Fail records err as the reason the function cannot start.
func (b *Builder) Fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

// Views is the views service over the named upstreams only.
func (b *Builder) Views(upstreams ...string) *views.Service {
	svc, err := Views(b.Ctx, b.L, b.Log, b.Res, upstreams...)
	if err != nil {
		b.Fail(err)
		return &views.Service{}
	}
	return svc
}

// Inboxes are the inboxes of the named upstreams (UpAI, UpNotification).
func (b *Builder) Inboxes(upstreams ...string) *Inboxes {
	in, err := InboxesWith(b.Ctx, b.L, b.Log, b.Gate, b.Res, upstreams...)
	if err != nil {
		b.Fail(err)
		return &Inboxes{}
	}
	return in
}

// ListCursors is the lists' cursor codec, from b's configuration (see the
// package's ListCursors).
func (b *Builder) ListCursors() *listcursor.Codec {
	c, err := ListCursors(b.Ctx, b.L)
	b.Fail(err)
	return c
}

// Gated starts an HTTP function behind the gate: the gate and its clients
// from l, then build makes the function's handler with b's openers. What
// build opens beyond them it hands to b.Res.OnClose; on a failure,
// everything opened is closed.
func Gated(build func(b *Builder) http.Handler) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return func(ctx context.Context, l boot.Lookuper, log *slog.Logger) (_ boot.HTTPFunc, err error) {
		defer derrors.Wrap(&err, "setup.Gated")
		g, res, err := Gate(ctx, l, log)
		if err != nil {
			return boot.HTTPFunc{}, err
		}
		b := &Builder{Ctx: ctx, L: l, Log: log, Gate: g, Res: res}
		h := build(b)
		if b.err == nil && h == nil {
			b.err = errors.New("the build made no handler")
		}
		if b.err != nil {
			res.Close()
			return boot.HTTPFunc{}, b.err
		}
		fn := boot.HTTPFunc{Handler: h, Close: res.Close}
		if drain := res.drain; len(drain) > 0 {
			fn.Drain = func() {
				for _, d := range drain {
					d()
				}
			}
		}
		return fn, nil
	}
}

// View starts a workbench view function: GET path serving view kind (a
// views.V* name), composed from the named upstreams only.
func View(kind, path string, upstreams ...string) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return Gated(func(b *Builder) http.Handler {
		if views.ViewRoles(kind) == nil {
			b.Fail(fmt.Errorf("setup.View: no view %q", kind))
		}
		svc := b.Views(upstreams...)
		return b.Gate.Routes(map[string]gate.Route{"GET " + path: {Handler: viewhttp.View(svc, kind), Ahead: viewhttp.Ahead(svc, kind)}})
	})
}
