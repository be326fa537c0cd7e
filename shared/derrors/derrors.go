// Package derrors gives every error that leaves the shared library one kind
// of context: the name of the exported function that returned it.
//
// The rule, applied across shared/:
//
// An exported function or method that returns an error and does I/O (or
// calls code that does) starts with
//
//	defer derrors.Wrap(&err, "pkg.Type.Method(%s)", id)
//
// naming itself once, with the one or two arguments that tell calls apart,
// so a logged error reads as a call path:
// "inbox.Suggestions.Decide(aim_…): pg.InTenantTx(ten_…): commit: …".
// Inside, errors are returned as they are, or with a short lowercase step
// ("commit: %w", "read decisions: %w") where one function has several
// failure points that would otherwise read the same. No site repeats the
// package or function name, and unexported helpers add no name of their own.
// Functions whose error text is shown to clients (id and field parsers whose
// message lands in a problem's "errors" list) and pure validators do not
// wrap: that text is part of the contract. The upstream clients pass their
// method name as httpc's op instead, because it also names the call in
// NotFoundError, ConflictError and the data-quality logs.
//
// Wrap only adds to the internal cause chain. It wraps with %w, so
// errors.Is and errors.As keep working, and an *apperr.Error in the chain is
// left untouched: apperr.From finds the same error, so the code, status,
// detail and the problem+json body do not change; the context shows up in
// the logged "err" only.
package derrors

import "fmt"

// Wrap prefixes *errp with the formatted context when it is not nil. It is
// meant to be deferred with a named error result.
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
