package idemhttp

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Store opens the function's idempotency store from b's configuration and
// closes it with the function; it lives here, not in setup, so that only
// the functions that mutate link the Firestore client.
func Store(b *setup.Builder) *idempotency.Store {
	s, err := idempotency.With(b.Ctx, b.L)
	if err != nil {
		b.Fail(err)
		return nil
	}
	b.Res.OnClose(func() { _ = s.Close() })
	return s
}

// Mux is a mutating function's routes behind the gate, each one made
// idempotent (Wrap) with the function's store: a write route cannot be
// mounted without its Idempotency-Key handling, and the store is opened
// once however many routes share it.
func Mux(b *setup.Builder, routes map[string]gate.Handler) http.Handler {
	s := Store(b)
	wrapped := make(map[string]gate.Handler, len(routes))
	for pattern, h := range routes {
		wrapped[pattern] = Wrap(s, h)
	}
	return b.Gate.Mux(wrapped)
}
