package gate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/gate"
)

type versioned struct{ V string }

func (v versioned) ETag() string { return `"` + v.V + `"` }

// The adapters called directly, as the handler of a route: what they
// record and answer, without the pipeline around them.
func TestAnswerAdapters(t *testing.T) {
	bad := activity.Note{Category: activity.CategoryAuth, Action: activity.ActionMFAChallengeCreate}
	done := activity.Note{Category: activity.CategoryAuth, Action: activity.ActionMFAChallengeVerify}
	type in struct {
		Code string `json:"code"`
	}
	echo := func(_ context.Context, _ *gate.Call, v in) (versioned, activity.Note, error) {
		if v.Code == "refuse" {
			return versioned{}, done, apperr.New(apperr.VersionConflict, "refused")
		}
		return versioned{V: v.Code}, done, nil
	}
	call := func(h gate.Handler, body string) (*gate.Call, gate.Result, error) {
		r := httptest.NewRequest(http.MethodPost, "/v1/x", strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		c := &gate.Call{Request: r}
		res, err := h(context.Background(), c)
		return c, res, err
	}

	t.Run("a body that does not decode is refused with the bad row and no call", func(t *testing.T) {
		called := false
		h := gate.WithBody(http.StatusCreated, bad, func(ctx context.Context, c *gate.Call, v in) (versioned, activity.Note, error) {
			called = true
			return echo(ctx, c, v)
		})
		for _, body := range []string{`{"code":1}`, `{"code":"a","extra":true}`, `{}{}`, ``} {
			c, _, err := call(h, body)
			if apperr.CodeOf(err) == "" || called {
				t.Fatalf("body %q: err %v, called %v; want a coded refusal before the call", body, err, called)
			}
			if !reflect.DeepEqual(c.Note, bad) {
				t.Errorf("body %q: note %+v, want the bad row %+v", body, c.Note, bad)
			}
		}
	})
	t.Run("success answers the status, the result and its ETag, with the call's row", func(t *testing.T) {
		c, res, err := call(gate.WithBody(http.StatusCreated, bad, echo), `{"code":"7"}`)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != http.StatusCreated || res.Body != (versioned{V: "7"}) || res.Header.Get("ETag") != `"7"` {
			t.Errorf("result %+v, want 201 with {7} and ETag \"7\"", res)
		}
		if !reflect.DeepEqual(c.Note, done) {
			t.Errorf("note %+v, want %+v", c.Note, done)
		}
	})
	t.Run("a refusal keeps the call's row and answers nothing", func(t *testing.T) {
		c, res, err := call(gate.WithBody(http.StatusCreated, bad, echo), `{"code":"refuse"}`)
		if apperr.CodeOf(err) != apperr.VersionConflict || res.Status != 0 || !reflect.DeepEqual(c.Note, done) {
			t.Errorf("err %v, result %+v, note %+v; want CONFLICT, no result, the call's row", err, res, c.Note)
		}
	})
	t.Run("an optional body may be absent, and is decoded when sent", func(t *testing.T) {
		h := gate.WithOptionalBody(http.StatusOK, bad, echo)
		if _, res, err := call(h, ``); err != nil || res.Body != (versioned{}) {
			t.Errorf("no body: %+v, %v; want the zero input", res, err)
		}
		if c, _, err := call(h, `{"nope":1}`); err == nil || !reflect.DeepEqual(c.Note, bad) {
			t.Errorf("bad body: err %v, note %+v; want a refusal with the bad row", err, c.Note)
		}
	})
	t.Run("a result without a version has no ETag", func(t *testing.T) {
		h := gate.Answer(http.StatusOK, func(context.Context, *gate.Call) (int, activity.Note, error) { return 3, done, nil })
		_, res, err := call(h, ``)
		if err != nil || res.Header != nil || res.Body != 3 {
			t.Errorf("%+v, %v", res, err)
		}
		h = gate.Answer(http.StatusOK, func(context.Context, *gate.Call) (int, activity.Note, error) {
			return 0, done, errors.New("plain")
		})
		if c, _, err := call(h, ``); err == nil || !reflect.DeepEqual(c.Note, done) {
			t.Errorf("err %v, note %+v", err, c.Note)
		}
	})
}
