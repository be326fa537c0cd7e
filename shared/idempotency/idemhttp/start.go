package idemhttp

import (
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
