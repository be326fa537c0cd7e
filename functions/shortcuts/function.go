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
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/shortcuts"
)

// Function is the `shortcuts` function as deployed.
var Function = boot.Function{Name: "shortcuts", EntryPoint: "Shortcuts", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	svc := b.Shortcuts()
	// Both answer with the document's version as ETag (gate.Answer).
	return b.Gate.Mux(map[string]gate.Handler{
		"GET /v1/shortcuts": gate.Answer(http.StatusOK, func(ctx context.Context, c *gate.Call) (shortcuts.Map, activity.Note, error) {
			return svc.Get(ctx, c.Actor, c.Request.URL.Query().Get("propertyId"))
		}),
		"PUT /v1/shortcuts": gate.WithBody(http.StatusOK,
			activity.Note{Category: activity.CategoryPreferencesChanged, Action: activity.ActionShortcutsChanged},
			func(ctx context.Context, c *gate.Call, u shortcuts.Update) (shortcuts.Map, activity.Note, error) {
				return svc.Put(ctx, c.Actor, c.Request.URL.Query().Get("propertyId"), c.Request.Header.Get("If-Match"), u)
			}),
	})
})}

func init() { Function.Register() }
