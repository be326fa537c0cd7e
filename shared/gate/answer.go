package gate

import (
	"net/http"

	"context"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
)

// Answer adapts a domain call to a Handler. The note the call returns is
// the request's activity row whatever the outcome (a refusal is audited as
// the action it refused), and a success answers status with the result as
// JSON; a versioned result (one with an ETag method) answers with its ETag
// too, so a client's next If-Match has it. Most routes are this and a body
// decode.
func Answer[T any](status int, do func(ctx context.Context, c *Call) (T, activity.Note, error)) Handler {
	return func(ctx context.Context, c *Call) (Result, error) {
		res, note, err := do(ctx, c)
		c.Note = note
		if err != nil {
			return Result{}, err
		}
		r := Result{Status: status, Body: res}
		if v, ok := any(res).(interface{ ETag() string }); ok {
			r.Header = http.Header{"Etag": {v.ETag()}}
		}
		return r, nil
	}
}

// WithBody is Answer for a route that takes a JSON body: the body is
// decoded into In first (httpx.DecodeJSON's rules: JSON media type, no
// unknown fields, one value, bounded size). A body that does not decode is
// refused with the row bad, so a malformed request still leaves a row
// naming the action it was meant to be.
func WithBody[In, T any](status int, bad activity.Note, do func(ctx context.Context, c *Call, in In) (T, activity.Note, error)) Handler {
	return withBody(false, status, bad, do)
}

// WithOptionalBody is WithBody for a route whose body may be absent (an
// action whose body is {} when sent): no body is In's zero value.
func WithOptionalBody[In, T any](status int, bad activity.Note, do func(ctx context.Context, c *Call, in In) (T, activity.Note, error)) Handler {
	return withBody(true, status, bad, do)
}

func withBody[In, T any](optional bool, status int, bad activity.Note, do func(ctx context.Context, c *Call, in In) (T, activity.Note, error)) Handler {
	return Answer(status, func(ctx context.Context, c *Call) (T, activity.Note, error) {
		var in In
		if !optional || c.Request.ContentLength != 0 {
			if err := httpx.DecodeJSON(nil, c.Request, &in); err != nil {
				var zero T
				return zero, bad, err
			}
		}
		return do(ctx, c, in)
	})
}

// PublishAll sends the telemetry events an action produced, after it
// succeeded; like Publish it never fails the request.
func (c *Call) PublishAll(ctx context.Context, evs []events.Envelope) {
	for _, ev := range evs {
		c.Publish(ctx, ev, nil)
	}
}
