package derrors_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

func fail(err error) (_ int, err2 error) {
	defer derrors.Wrap(&err2, "pkg.Fail(%d)", 7)
	return 0, err
}

func TestWrapKeepsChainAndAppErr(t *testing.T) {
	if _, err := fail(nil); err != nil {
		t.Fatalf("nil error wrapped: %v", err)
	}
	_, err := fail(context.Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is lost: %v", err)
	}
	if got, want := err.Error(), "pkg.Fail(7): context canceled"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	ae := apperr.Unavailable(errors.New("down"), "session store")
	_, err = fail(ae)
	if got := apperr.From(err); got != ae {
		t.Fatalf("apperr.From = %#v, want the same *Error %#v", got, ae)
	}
}
