package setup

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/views/viewhttp"
)

// OnClose adds f to what Close releases (before the gate's own clients).
func (r *Resources) OnClose(f func()) { r.close = append(r.close, f) }

// OnDrain adds f to what ends the function's long-lived requests when its
// server shuts down (boot.HTTPFunc.Drain).
func (r *Resources) OnDrain(f func()) { r.drain = append(r.drain, f) }

// Gated starts an HTTP function behind the gate: the gate and its clients
// from l, then build makes the function's handler over them. What build
// opens it hands to res.OnClose; on an error, everything opened is closed.
func Gated(build func(ctx context.Context, l boot.Lookuper, log *slog.Logger, g *gate.Gate, res *Resources) (http.Handler, error)) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return func(ctx context.Context, l boot.Lookuper, log *slog.Logger) (_ boot.HTTPFunc, err error) {
		defer derrors.Wrap(&err, "setup.Gated")
		g, res, err := Gate(ctx, l, log)
		if err != nil {
			return boot.HTTPFunc{}, err
		}
		h, err := build(ctx, l, log, g, res)
		if err != nil {
			res.Close()
			return boot.HTTPFunc{}, err
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

// View starts a workbench view function: GET path serving view kind,
// composed from the named upstreams only.
func View(path, kind string, upstreams ...string) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return Gated(func(ctx context.Context, l boot.Lookuper, log *slog.Logger, g *gate.Gate, res *Resources) (http.Handler, error) {
		svc, err := Views(ctx, l, log, res, upstreams...)
		if err != nil {
			return nil, err
		}
		return g.Mux(map[string]gate.Handler{"GET " + path: viewhttp.View(svc, kind)}), nil
	})
}
