// Package shortcuts is the `shortcuts` function: GET /v1/shortcuts — the
// operator's KeyboardShortcutMap (static defaults, the operator's
// overrides, the effective map; `?propertyId=` for one property's
// overrides laid over the global ones), mirrored from tenant-service with
// `ETag: "<version>"`; PUT /v1/shortcuts `{overrides}` — written through
// with `If-Match: "<version>"` (428 without it, 412 VERSION_CONFLICT when
// stale, 400 with every clash in errors[]).
package shortcuts

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/shortcuts"
)

// Function is the `shortcuts` function as deployed.
var Function = boot.Function{Name: "shortcuts", EntryPoint: "Shortcuts", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return New(b.Gate, b.Shortcuts())
})}

func init() { Function.Register() }

// New returns the function's handler: its routes behind the gate.
func New(g *gate.Gate, svc *shortcuts.Service) http.Handler {
	answer := func(m shortcuts.Map) gate.Result {
		return gate.Result{Status: http.StatusOK, Body: m, Header: http.Header{"Etag": {m.ETag()}}}
	}
	return g.Mux(map[string]gate.Handler{
		"GET /v1/shortcuts": func(ctx context.Context, c *gate.Call) (gate.Result, error) {
			m, note, err := svc.Get(ctx, c.Actor, c.Request.URL.Query().Get("propertyId"))
			c.Note = note
			if err != nil {
				return gate.Result{}, err
			}
			return answer(m), nil
		},
		"PUT /v1/shortcuts": func(ctx context.Context, c *gate.Call) (gate.Result, error) {
			var u shortcuts.Update
			if err := httpx.DecodeJSON(nil, c.Request, &u); err != nil {
				c.Note = activity.Note{Category: activity.CategoryPreferencesChanged, Action: activity.ActionShortcutsChanged}
				return gate.Result{}, err
			}
			m, note, err := svc.Put(ctx, c.Actor, c.Request.URL.Query().Get("propertyId"), c.Request.Header.Get("If-Match"), u)
			c.Note = note
			if err != nil {
				return gate.Result{}, err
			}
			return answer(m), nil
		},
	})
}
