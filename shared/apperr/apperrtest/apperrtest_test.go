package apperrtest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
)

// recorder is a testing.TB whose Fatalf records the message and stops the
// calling goroutine, as the real one does.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}

func run(err error, code apperr.Code) (msg string) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		msg = r.failed
	}()
	apperrtest.WantCode(r, err, code)
	return ""
}

func TestWantCode(t *testing.T) {
	t.Parallel()
	e := fmt.Errorf("x: %w", apperr.New(apperr.NotFound, "gone"))
	if msg := run(e, apperr.NotFound); msg != "" {
		t.Errorf("a wrapped matching code failed: %s", msg)
	}
	if msg := run(errors.New("boom"), apperr.Internal); msg != "" {
		t.Errorf("an error without a code is INTERNAL to a client, yet: %s", msg)
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, "err = nil"},
		{"plain error", errors.New("boom"), "code " + string(apperr.Internal)},
		{"other code", e, "code " + string(apperr.NotFound)},
	}
	for _, c := range cases {
		if msg := run(c.err, apperr.ValidationFailed); !strings.Contains(msg, c.want) {
			t.Errorf("%s: failure %q, want one containing %q", c.name, msg, c.want)
		}
	}
}
