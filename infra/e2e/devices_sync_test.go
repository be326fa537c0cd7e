package e2e

import (
	"testing"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

type syncResult struct {
	LastCursor struct {
		CursorVersion int64 `json:"cursorVersion"`
	} `json:"lastCursor"`
	Advanced bool `json:"advanced"`
}

// The sync calls end to end against the sync-service fake: the cursor is
// refreshed and advanced by handshakes, a stale handshake is 412, and a
// handshake sync-service does not answer is a 503 recorded as a failure,
// leaving the cursor where it was.
func TestDeviceSyncCursorAndHandshake(t *testing.T) {
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, op, 0, nil)
	key := func() []string { return []string{"Idempotency-Key", ids.New("sync")} }
	post := func(path, body string) (resp, syncResult) {
		t.Helper()
		r := e.do("POST", path, tok, body, key()...)
		var res syncResult
		if r.StatusCode == 200 {
			r.json(t, &res)
		}
		return r, res
	}
	r, res := post("/v1/sync/cursor", `{}`)
	if r.StatusCode != 200 || res.LastCursor.CursorVersion != 1 || !res.Advanced {
		t.Fatalf("cursor: %d %s", r.StatusCode, r.body)
	}
	r, res = post("/v1/sync/handshake", `{"pullCursor":"pull-00000001","pushAck":"ack-00000001","cursorVersion":1}`)
	if r.StatusCode != 200 || res.LastCursor.CursorVersion != 2 || !res.Advanced {
		t.Fatalf("handshake: %d %s", r.StatusCode, r.body)
	}
	r, _ = post("/v1/sync/handshake", `{"cursorVersion":1}`)
	if r.StatusCode != 412 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VERSION_CONFLICT" {
		t.Fatalf("stale handshake: %d %s", r.StatusCode, r.body)
	}
	// sync-service answers again with version 2 (older than nothing, equal
	// to what is stored): the cursor stays, not advanced.
	r, res = post("/v1/sync/cursor", `{}`)
	if r.StatusCode != 200 || res.LastCursor.CursorVersion != 2 || res.Advanced {
		t.Fatalf("cursor again: %d %s", r.StatusCode, r.body)
	}

	if err := e.srv.Fleet.Fake("sync").SetFault(fakes.Fault{Path: "*", Hang: true}); err != nil {
		t.Fatal(err)
	}
	r, _ = post("/v1/sync/handshake", `{"cursorVersion":2}`)
	if r.StatusCode != 503 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE" {
		t.Fatalf("handshake with sync-service hung: %d %s", r.StatusCode, r.body)
	}
	e.srv.Fleet.Fake("sync").ClearFaults()
	r, res = post("/v1/sync/cursor", `{}`)
	if r.StatusCode != 200 || res.LastCursor.CursorVersion != 2 {
		t.Fatalf("cursor after the timeout: %d %s", r.StatusCode, r.body)
	}

	outcomes := map[string]int{}
	for _, row := range e.activity(tn.ID) {
		if row.Category == "sync_handshake" && row.Action == "sync.handshake" {
			outcomes[row.Outcome]++
		}
	}
	if outcomes["success"] != 1 || outcomes["failure"] != 2 {
		t.Errorf("handshake rows = %v, want 1 success (the answered one) and 2 failures (stale, timeout)", outcomes)
	}
}
