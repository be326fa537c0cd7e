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
)

// List is an inbox's GET: ?propertyId= (the session's default when absent)
// and ?status= go to inbox, whose note becomes the request's activity row.
func List[T any](inbox func(ctx context.Context, a actor.Actor, propertyID, status string) (T, activity.Note, error)) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		q := c.Request.URL.Query()
		l, note, err := inbox(ctx, c.Actor, q.Get("propertyId"), q.Get("status"))
		c.Note = note
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusOK, Body: l}, nil
	}
}
