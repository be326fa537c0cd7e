package lock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/lock"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

type rig struct {
	s                 *lock.Service
	srv               *httptest.Server
	tenant, prop, rsv string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	s := lock.New(fakes.WithLatency(0, 0))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Fake().Close(); s.SetFaults(lock.Faults{}); srv.Close() })
	return &rig{s: s, srv: srv, tenant: ids.New(ids.Tenant), prop: ids.New(ids.Property), rsv: ids.New(ids.Reservation)}
}

func (r *rig) base() string {
	return r.srv.URL + "/v1/tenants/" + r.tenant + "/properties/" + r.prop
}

func (r *rig) act(t *testing.T, ctx context.Context, action, reqID string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base()+"/reservations/"+r.rsv+"/keys/"+action, bytes.NewReader(b))
	req.Header.Set("Idempotency-Key", reqID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (r *rig) get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(r.base() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func until() string { return time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339) }

func TestKeyLifecycleAndIdempotency(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	st, out := r.act(t, ctx, "issue", "req-1", map[string]any{"roomNumber": "101", "validUntil": until()})
	if st != http.StatusCreated || out["outcome"] != "success" || !slices.Contains(lock.Vendors, out["vendor"].(string)) {
		t.Fatalf("issue = %d %v", st, out)
	}
	// The same request id with another body is refused, not performed.
	if st, again := r.act(t, ctx, "issue", "req-1", map[string]any{"roomNumber": "999", "validUntil": until()}); st != http.StatusUnprocessableEntity {
		t.Fatalf("reused id with another body = %d %v", st, again)
	}
	// A retry of the same request gets the same answer and cuts no second key.
	body := map[string]any{"roomNumber": "101", "validUntil": until()}
	_, first := r.act(t, ctx, "issue", "req-2", body)
	_, second := r.act(t, ctx, "issue", "req-2", body)
	if first["keyIds"].([]any)[0] != second["keyIds"].([]any)[0] {
		t.Fatalf("replay cut another key: %v vs %v", first, second)
	}
	if n := r.s.Performed("issue"); n != 2 { // req-1 and req-2
		t.Fatalf("issued %d times, want 2", n)
	}
	if st, _ := r.act(t, ctx, "rebind", "req-3", map[string]any{"roomNumber": "102"}); st != http.StatusCreated {
		t.Fatalf("rebind = %d", st)
	}
	if st, _ := r.act(t, ctx, "extend", "req-4", map[string]any{"validUntil": until()}); st != http.StatusCreated {
		t.Fatalf("extend = %d", st)
	}
	if st, out := r.act(t, ctx, "revoke", "req-5", map[string]any{}); st != http.StatusCreated || len(out["keyIds"].([]any)) != 2 {
		t.Fatalf("revoke = %d %v", st, out)
	}
	_, keys := r.get(t, "/reservations/"+r.rsv+"/keys")
	for _, k := range keys["items"].([]any) {
		if k.(map[string]any)["state"] != lock.StateRevoked || k.(map[string]any)["roomNumber"] != "102" {
			t.Fatalf("key after revoke: %v", k)
		}
	}
	// Nothing left to revoke: a refusal, stored like any answer.
	if st, out := r.act(t, ctx, "revoke", "req-6", map[string]any{}); st != http.StatusConflict || out["code"] != "MELMASTOON.LOCK.NO_ACTIVE_KEY" {
		t.Fatalf("second revoke = %d %v", st, out)
	}
	if st, out := r.get(t, "/requests/req-6"); st != http.StatusOK || out["status"] != float64(http.StatusConflict) {
		t.Fatalf("request req-6 = %d %v", st, out)
	}
	if st, _ := r.get(t, "/requests/never-sent"); st != http.StatusNotFound {
		t.Fatalf("unknown request = %d", st)
	}
	// Malformed requests.
	for _, c := range []struct {
		action, id string
		body       any
	}{
		{"issue", "", map[string]any{"roomNumber": "1", "validUntil": until()}},
		{"issue", "x1", map[string]any{"validUntil": until()}},
		{"extend", "x2", map[string]any{"validUntil": "2001-01-01T00:00:00Z"}},
		{"revoke", "x3", map[string]any{"surprise": true}},
	} {
		if st, out := r.act(t, ctx, c.action, c.id, c.body); st < 400 || st >= 500 {
			t.Errorf("%s %v = %d %v", c.action, c.body, st, out)
		}
	}
	if r.s.Fake().Count(http.MethodGet, "/v1/tenants/"+r.tenant+"/properties/"+r.prop+"/reservations/"+r.rsv+"/keys") != 1 {
		t.Errorf("stats: %v", r.s.Fake().Stats())
	}
}

func TestSilentRevoke(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	r.act(t, ctx, "issue", "i", map[string]any{"roomNumber": "7", "validUntil": until()})
	resp, err := http.Post(r.srv.URL+"/__lock/faults", "application/json", bytes.NewReader([]byte(`{"silentRevoke":true}`)))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("set fault: %v %v", err, resp)
	}
	resp.Body.Close()
	if st, out := r.act(t, ctx, "revoke", "rv", map[string]any{}); st != http.StatusCreated || out["outcome"] != "success" {
		t.Fatalf("silent revoke = %d %v", st, out)
	}
	if k := r.s.Keys(r.tenant, r.rsv); len(k) != 1 || k[0].State != lock.StateActive {
		t.Fatalf("keys after a silent revoke: %+v", k)
	}
}

func TestHeldAnswerIsPerformedAndStored(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.s.SetFaults(lock.Faults{HoldAnswers: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if st, _ := r.act(t, ctx, "issue", "held", map[string]any{"roomNumber": "9", "validUntil": until()}); st != 0 {
		t.Fatalf("held request answered %d", st)
	}
	if !r.s.Answered(r.tenant, "held") || r.s.Performed("issue") != 1 {
		t.Fatal("the held action was not performed")
	}
	r.s.SetFaults(lock.Faults{})
	if st, out := r.get(t, "/requests/held"); st != http.StatusOK || out["status"] != float64(http.StatusCreated) {
		t.Fatalf("stored answer = %d %v", st, out)
	}
	// A retry gets the stored answer (or, with another body, a refusal); no second key.
	if st, _ := r.act(t, context.Background(), "issue", "held", map[string]any{"roomNumber": "9", "validUntil": until()}); st != http.StatusCreated && st != http.StatusUnprocessableEntity {
		t.Fatalf("retry = %d", st)
	}
	if r.s.Performed("issue") != 1 {
		t.Fatalf("performed %d issues", r.s.Performed("issue"))
	}
}
