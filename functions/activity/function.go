// Package activity is the `activity` function: GET /v1/activity — the
// operator activity ledger read back, newest first: an operator's own
// actions, and for night auditors, managers and admins everyone's.
package activity

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `activity` function as deployed.
var Function = boot.Function{Name: "activity", EntryPoint: "Activity", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	f := &activity.Feed{DB: b.Res.DB, Cursors: b.ListCursors()}
	return b.Gate.Mux(map[string]gate.Handler{
		"GET /v1/activity": gate.Answer(http.StatusOK, func(ctx context.Context, c *gate.Call) (activity.FeedPage, activity.Note, error) {
			q := c.Request.URL.Query()
			return f.List(ctx, c.Actor, activity.FeedQuery{
				OperatorID: q.Get("operatorId"), Category: q.Get("category"), PropertyID: q.Get("propertyId"),
				From: q.Get("from"), To: q.Get("to"), Limit: q.Get("limit"), Cursor: q.Get("cursor"),
			})
		}),
	})
})}

func init() { Function.Register() }
