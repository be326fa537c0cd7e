// Package inboxhttp is the HTTP face the inbox functions share: reading a
// list off the request and answering it. The inbox rules themselves live
// in shared/inbox and take a plain actor.
package inboxhttp

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
)

// List is an inbox's GET: ?propertyId= (the session's default when
// absent), ?status=, ?limit= and ?cursor= go to list, whose note becomes
// the request's activity row.
func List[T any](list func(ctx context.Context, a actor.Actor, q inbox.Query) (T, activity.Note, error)) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		q := c.Request.URL.Query()
		l, note, err := list(ctx, c.Actor, inbox.Query{
			PropertyID: q.Get("propertyId"), Status: q.Get("status"), Limit: q.Get("limit"), Cursor: q.Get("cursor"),
		})
		c.Note = note
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusOK, Body: l}, nil
	}
}
