// Package apperrtest holds test helpers for code that returns apperr errors.
package apperrtest

import (
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
)

// WantCode fails the test unless err has code as the client would get it
// (apperr.CodeOf: the *apperr.Error anywhere in err's chain, INTERNAL for
// an error without one). A nil err fails too: a test that expects an error
// code expects an error.
func WantCode(t testing.TB, err error, code apperr.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("code %s (err %v), want %s", got, err, code)
	}
}
