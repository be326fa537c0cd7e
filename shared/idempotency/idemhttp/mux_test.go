package idemhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// A function built with Mux serves none of its routes without the key
// handling: each refuses a request without a key and replays a retry, on
// the one store Mux opened from the function's configuration.
func TestMuxMakesEveryRouteIdempotent(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	log := logtest.TestLogger(t)
	res := &setup.Resources{}
	t.Cleanup(res.Close)
	b := &setup.Builder{
		Ctx: context.Background(),
		L: config.MapLookuper(map[string]string{
			"GOOGLE_CLOUD_PROJECT": testenv.ProjectID(t),
			"IDEMPOTENCY_TIMEOUT":  harnessTimeout.String(),
		}),
		Log: log, Gate: hs.gate, Res: res,
	}
	var calls atomic.Int64
	h := func(_ context.Context, c *gate.Call) (gate.Result, error) {
		c.Note = activity.Note{Category: activity.CategoryMutationProxy, Action: "thing.created"}
		return gate.Result{Status: http.StatusCreated, Body: map[string]int64{"run": calls.Add(1)}}, nil
	}
	srv := httptest.NewServer(httpx.Wrap(log, Mux(b, map[string]gate.Handler{"POST /v1/a": h, "POST /v1/b": h})))
	t.Cleanup(srv.Close)

	w := newWho()
	for _, path := range []string{"/v1/a", "/v1/b"} {
		if r := hs.postTo(srv.URL, w, path, `{}`); r.status != http.StatusBadRequest || r.problemCode() != string(apperr.IdempotencyKeyRequired) {
			t.Fatalf("POST %s without a key = %d %s, want 400 IDEMPOTENCY_KEY_REQUIRED", path, r.status, r.body)
		}
		key := "key" + path
		first := wantFresh(t, path, hs.postTo(srv.URL, w, path, `{}`, key))
		sameResponse(t, first, hs.postTo(srv.URL, w, path, `{}`, key))
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2 (one per route; the retries replayed)", n)
	}
}
