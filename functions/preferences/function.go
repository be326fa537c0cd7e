// Package preferences is the `preferences` function: GET /v1/preferences
// — the operator's OperatorPreferences from the mirror, read through from
// tenant-service on a miss, with `ETag: "<version>"`; PUT /v1/preferences
// — written through to tenant-service with `If-Match: "<version>"` (428
// without it, 412 VERSION_CONFLICT with the current version when stale).
package preferences

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/preferences"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `preferences` function as deployed.
var Function = boot.Function{Name: "preferences", EntryPoint: "Preferences", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	svc := b.Preferences()
	// Both answer with the version's ETag (gate.Answer).
	return b.Gate.Mux(map[string]gate.Handler{
		"GET /v1/preferences": gate.Answer(http.StatusOK, func(ctx context.Context, c *gate.Call) (preferences.Preferences, activity.Note, error) {
			return svc.Get(ctx, c.Actor)
		}),
		"PUT /v1/preferences": gate.WithBody(http.StatusOK,
			activity.Note{Category: activity.CategoryPreferencesChanged, Action: activity.ActionPreferencesChanged},
			func(ctx context.Context, c *gate.Call, u preferences.Update) (preferences.Preferences, activity.Note, error) {
				return svc.Put(ctx, c.Actor, c.Request.Header.Get("If-Match"), u)
			}),
	})
})}

func init() { Function.Register() }
