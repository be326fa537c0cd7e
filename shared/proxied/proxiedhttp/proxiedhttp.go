// Package proxiedhttp is the HTTP face of a proxied mutation: the body
// decoded, the Idempotency-Key and X-MFA-Attestation headers read into
// proxied.Headers. It sits inside idemhttp.Wrap, which has checked the key
// by then.
package proxiedhttp

import (
	"context"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
)

// WithBody is gate.WithBody for a proxied mutation: do gets the request's
// headers beside its body; a body that does not decode is recorded under
// bad.
func WithBody[B, R any](status int, bad activity.Note, do func(ctx context.Context, c *gate.Call, h proxied.Headers, body B) (R, activity.Note, error)) gate.Handler {
	return gate.WithBody(status, bad, func(ctx context.Context, c *gate.Call, body B) (R, activity.Note, error) {
		return do(ctx, c, Headers(c), body)
	})
}

// Headers reads a proxied mutation's headers from c's request.
func Headers(c *gate.Call) proxied.Headers {
	return proxied.Headers{
		IdempotencyKey: c.Request.Header.Get(idempotency.KeyHeader),
		Attestation:    c.Request.Header.Get(mfa.HeaderName),
	}
}
