package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/golang-jwt/jwt/v5"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

type sessionBody struct {
	ID                string   `json:"id"`
	TenantID          string   `json:"tenantId"`
	OperatorID        string   `json:"operatorId"`
	DeviceID          string   `json:"deviceId"`
	PropertyScope     []string `json:"propertyScope"`
	PrimaryPropertyID *string  `json:"primaryPropertyId"`
	Roles             []string `json:"roles"`
	Locale            string   `json:"locale"`
	State             string   `json:"state"`
	AppPlatform       *string  `json:"appPlatform"`
}

func TestHealthNeedsNoAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/health", "", "")
	if r.StatusCode != 200 {
		t.Fatalf("GET /health = %d %s", r.StatusCode, r.body)
	}
}

func TestFirstRequestOpensSessionRecordsAndPublishes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.pullSubscription(events.SessionOpened)
	tn, op := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, op, 0, nil)

	r := e.do("GET", "/v1/session", tok, "", "X-App-Platform", "win32", "X-App-Version", "4.2.0", "Accept-Language", "fr-CA,fr;q=0.8")
	if r.StatusCode != 200 {
		t.Fatalf("GET /v1/session = %d %s", r.StatusCode, r.body)
	}
	var s sessionBody
	r.json(t, &s)
	if s.ID != r.Header.Get("X-Session-Id") || !ids.Valid(ids.Session, s.ID) {
		t.Fatalf("session id %q, X-Session-Id %q", s.ID, r.Header.Get("X-Session-Id"))
	}
	if s.TenantID != tn.ID || s.OperatorID != op.ID || s.DeviceID != op.Devices[0].ID || s.State != "open" ||
		s.Locale != "fr-CA" || s.AppPlatform == nil || *s.AppPlatform != "win32" {
		t.Fatalf("unexpected session %+v", s)
	}
	if strings.Join(s.PropertyScope, ",") != strings.Join(op.PropertyScope, ",") {
		t.Fatalf("propertyScope = %v, want %v from tenant-service", s.PropertyScope, op.PropertyScope)
	}

	// The same device again: the same session, no second opening.
	r2 := e.do("GET", "/v1/session", tok, "", "X-Session-Id", s.ID)
	if r2.StatusCode != 200 || r2.Header.Get("X-Session-Id") != s.ID {
		t.Fatalf("second GET = %d, session %q, want %s", r2.StatusCode, r2.Header.Get("X-Session-Id"), s.ID)
	}

	rows := e.activity(tn.ID)
	got := make([]string, len(rows))
	for i, a := range rows {
		got[i] = a.Category + "/" + a.Action + "/" + a.Outcome
		if a.SessionID == nil || *a.SessionID != s.ID {
			t.Errorf("row %d sessionId = %v, want %s", i, a.SessionID, s.ID)
		}
	}
	want := "auth/session.opened/success,view/session.viewed/success,view/session.viewed/success"
	if strings.Join(got, ",") != want {
		t.Fatalf("activity rows = %v, want %s", got, want)
	}
	// Another tenant sees none of them.
	if other := e.activity(e.srv.Demo.Tenants[1].ID); len(other) != 0 {
		t.Fatalf("tenant 2 sees %d rows of tenant 1", len(other))
	}

	msgs := e.pull(sub, 1)
	var env events.Envelope
	if err := json.Unmarshal(msgs[0].GetData(), &env); err != nil {
		t.Fatal(err)
	}
	if env.Subject != events.SessionOpened || env.TenantID != tn.ID || !ids.Valid(ids.Event, env.ID) ||
		msgs[0].GetAttributes()["subject"] != events.SessionOpened || msgs[0].GetAttributes()["tenantId"] != tn.ID {
		t.Fatalf("session.opened envelope %s attrs %v", msgs[0].GetData(), msgs[0].GetAttributes())
	}
	if !strings.Contains(string(env.Data), s.ID) {
		t.Fatalf("session.opened data %s does not name %s", env.Data, s.ID)
	}
}

func TestConcurrentFirstRequestsShareOneSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	const n = 30
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sids = map[string]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", e.srv.BaseURL+"/v1/session", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, _, err := exchange(t, e.spec, e.client, req)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			sids[fmt.Sprintf("%d %s", res.StatusCode, res.Header.Get("X-Session-Id"))]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(sids) != 1 {
		t.Fatalf("answers = %v, want one session for all %d", sids, n)
	}
	opened := 0
	for _, a := range e.activity(tn.ID) {
		if a.Action == "session.opened" {
			opened++
		}
	}
	if opened != 1 {
		t.Fatalf("%d session.opened rows, want 1", opened)
	}
}

func TestTokenRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("front_desk"))
	past := time.Now().Add(-13 * time.Hour)
	bad := func(f func(jwt.MapClaims)) string {
		c := e.srv.IAM.StandardClaims(iam.Claims{TenantID: tn.ID, OperatorID: op.ID, DeviceID: op.Devices[0].ID}, time.Hour)
		f(c)
		tok, err := e.srv.IAM.MintWith("ES256", e.srv.IAM.KID("ES256"), c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name, auth, code string
	}{
		{"no header", "", "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED"},
		{"not bearer", "Basic Zm9vOmJhcg==", "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED"},
		{"garbage", "Bearer not-a-jwt", "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED"},
		{"expired", "Bearer " + e.mint(tn, op, 0, func(c *iam.Claims) { c.IssuedAt = past }), "MELMASTOON.IAM.TOKEN_EXPIRED"},
		{"wrong audience", "Bearer " + e.mint(tn, op, 0, func(c *iam.Claims) { c.Audience = "melmastoon-bff-guest" }), "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED"},
		{"wrong issuer", "Bearer " + e.mint(tn, op, 0, func(c *iam.Claims) { c.Issuer = "https://evil.example" }), "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED"},
		{"no device binding", "Bearer " + bad(func(c jwt.MapClaims) { delete(c, "cnf") }), "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED"},
		{"malformed tenant id", "Bearer " + bad(func(c jwt.MapClaims) { c["tid"] = "ten_1" }), "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/v1/session", "", "", "Authorization", tc.auth)
			if r.StatusCode != 401 || r.problem(t) != tc.code {
				t.Fatalf("= %d %s, want 401 %s", r.StatusCode, r.body, tc.code)
			}
			if r.Header.Get("X-Session-Id") != "" {
				t.Fatal("a refused token got a session")
			}
		})
	}
	if rows := e.activity(tn.ID); len(rows) != 0 {
		t.Fatalf("unauthenticated requests wrote %d activity rows", len(rows))
	}
}

func TestSessionRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, func(o demo.Operator) bool { return len(o.Devices) == 2 && len(o.PropertyScope) > 0 })
	first := e.do("GET", "/v1/session", e.mint(tn, op, 0, nil), "")
	if first.StatusCode != 200 {
		t.Fatalf("open = %d %s", first.StatusCode, first.body)
	}
	sid := first.Header.Get("X-Session-Id")

	// The operator's other device presenting the first device's session.
	r := e.do("GET", "/v1/session", e.mint(tn, op, 1, nil), "", "X-Session-Id", sid)
	if r.StatusCode != 401 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.SESSION_DEVICE_MISMATCH" {
		t.Fatalf("other device = %d %s", r.StatusCode, r.body)
	}
	// Another operator presenting it.
	_, other := e.operator(0, hasRole("night_auditor"))
	r = e.do("GET", "/v1/session", e.mint(tn, other, 0, nil), "", "X-Session-Id", sid)
	if r.StatusCode != 401 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.SESSION_DEVICE_MISMATCH" {
		t.Fatalf("other operator = %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/v1/session", e.mint(tn, op, 0, nil), "", "X-Session-Id", "bos_123")
	if r.StatusCode != 400 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("malformed X-Session-Id = %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/v1/session", e.mint(tn, op, 0, nil), "", "X-App-Platform", "amiga")
	if r.StatusCode != 400 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("bad X-App-Platform = %d %s", r.StatusCode, r.body)
	}

	// An operator with no property in scope.
	_, noScope := e.operator(0, func(o demo.Operator) bool { return len(o.PropertyScope) == 0 })
	r = e.do("GET", "/v1/session", e.mint(tn, noScope, 0, nil), "")
	if r.StatusCode != 403 || r.problem(t) != "MELMASTOON.IAM.NO_PROPERTY_SCOPE" || r.Header.Get("X-Session-Id") != "" {
		t.Fatalf("no scope = %d %s", r.StatusCode, r.body)
	}
	refused := 0
	for _, a := range e.activity(tn.ID) {
		if a.Action == "session.refused" && a.Outcome == "failure" && a.ErrorCode != nil {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d session.refused rows, want 3 (two mismatches, one without scope)", refused)
	}
}

func TestPatchSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, func(o demo.Operator) bool { return len(o.PropertyScope) == 2 })
	tok := e.mint(tn, op, 0, nil)
	otherTenantProp := e.srv.Demo.Tenants[1].Properties[0].ID
	big := `{"locale":"` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name, body, ctype string
		status            int
		code              string
	}{
		{"set primary", `{"primaryPropertyId":"` + op.PropertyScope[1] + `"}`, "", 200, ""},
		{"set locale", `{"locale":"pt-BR"}`, "application/merge-patch+json", 200, ""},
		{"clear primary", `{"primaryPropertyId":null}`, "", 200, ""},
		{"other tenant's property", `{"primaryPropertyId":"` + otherTenantProp + `"}`, "", 403, "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE"},
		{"malformed property", `{"primaryPropertyId":"prp_x"}`, "", 400, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED"},
		{"bad locale", `{"locale":"english"}`, "", 400, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED"},
		{"unknown field", `{"theme":"dark"}`, "", 400, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED"},
		{"wrong type", `{"locale":42}`, "", 400, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED"},
		{"not json", `{"locale":`, "", 400, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED"},
		{"two values", `{} {}`, "", 400, "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED"},
		{"over 1 MiB", big, "", 413, "MELMASTOON.BFF.BACKOFFICE.PAYLOAD_TOO_LARGE"},
		{"form body", `locale=en`, "application/x-www-form-urlencoded", 415, "MELMASTOON.BFF.BACKOFFICE.UNSUPPORTED_MEDIA_TYPE"},
	}
	for _, tc := range cases {
		hdr := []string{}
		if tc.ctype != "" {
			hdr = append(hdr, "Content-Type", tc.ctype)
		}
		r := e.do("PATCH", "/v1/session", tok, tc.body, hdr...)
		if r.StatusCode != tc.status {
			t.Fatalf("%s: = %d %s, want %d", tc.name, r.StatusCode, truncate(r.body), tc.status)
		}
		if tc.code != "" && r.problem(t) != tc.code {
			t.Fatalf("%s: code %s, want %s", tc.name, r.body, tc.code)
		}
	}
	// What was accepted stayed accepted: the last good values hold.
	var s sessionBody
	r := e.do("GET", "/v1/session", tok, "")
	r.json(t, &s)
	if s.PrimaryPropertyID != nil || s.Locale != "pt-BR" {
		t.Fatalf("after patches: primary %v locale %s, want null and pt-BR", s.PrimaryPropertyID, s.Locale)
	}
	if r := e.do("POST", "/v1/session", tok, "{}"); r.StatusCode != 405 || r.Header.Get("Allow") == "" {
		t.Fatalf("POST /v1/session = %d, Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.pullSubscription(events.SessionClosed)
	tn, op := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, op, 0, nil)
	r := e.do("DELETE", "/v1/session", tok, "")
	if r.StatusCode != 204 || len(r.body) != 0 {
		t.Fatalf("DELETE = %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/v1/session", tok, "")
	if r.StatusCode != 401 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.UNAUTHENTICATED" {
		t.Fatalf("GET after sign-out = %d %s", r.StatusCode, r.body)
	}
	msgs := e.pull(sub, 1)
	if !strings.Contains(string(msgs[0].GetData()), `"reason":"signed_out"`) {
		t.Fatalf("session.closed = %s", msgs[0].GetData())
	}
	// Signing in again (a fresh token, a second later) works.
	time.Sleep(1100 * time.Millisecond)
	r = e.do("GET", "/v1/session", e.mint(tn, op, 0, nil), "")
	if r.StatusCode != 200 {
		t.Fatalf("GET with a new token = %d %s", r.StatusCode, r.body)
	}
}

func TestRevocationEventEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, func(o demo.Operator) bool { return len(o.Devices) == 2 && len(o.PropertyScope) > 0 })
	tokA, tokB := e.mint(tn, op, 0, nil), e.mint(tn, op, 1, nil)
	for _, tok := range []string{tokA, tokB} {
		if r := e.do("GET", "/v1/session", tok, ""); r.StatusCode != 200 {
			t.Fatalf("open = %d %s", r.StatusCode, r.body)
		}
	}
	closed := e.pullSubscription(events.SessionClosed)

	// iam-service revokes device A's sessions: publish to the emulator,
	// which pushes to the dev server's session-revoked function.
	ev, err := events.New(events.IAMSessionRevoked, tn.ID, "", map[string]string{
		"operatorId": op.ID, "deviceId": op.Devices[0].ID, "reason": "device_lost",
	})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pubsubevents.NewPublisher(context.Background(), e.project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "device A refused with SESSION_REVOKED", func() bool {
		r := e.do("GET", "/v1/session", tokA, "")
		return r.StatusCode == 401 && r.problem(t) == "MELMASTOON.IAM.SESSION_REVOKED"
	})
	if r := e.do("GET", "/v1/session", tokB, ""); r.StatusCode != 200 {
		t.Fatalf("device B = %d %s, want its session untouched", r.StatusCode, r.body)
	}
	// forceLogout is on device A's stream. The consumer writes the cutoff
	// (which the 401 above shows) before it appends, so wait for it.
	eventually(t, 10*time.Second, "forceLogout on device A's stream", func() bool {
		msgs, err := e.rdb.XRange(context.Background(), devicestream.Key(e.rdb, tn.ID, op.Devices[0].ID), "-", "+").Result()
		return err == nil && len(msgs) > 0 && msgs[0].Values["type"] == devicestream.TypeForceLogout
	})
	got := e.pull(closed, 1)
	if !strings.Contains(string(got[0].GetData()), `"reason":"revoked"`) {
		t.Fatalf("session.closed = %s", got[0].GetData())
	}
	// Delivered again once applied (its processed marker is written after
	// the handler succeeded): the duplicate changes nothing, no second
	// forceLogout, no second closed event. (Two deliveries that overlap
	// may both send the follow-up, by design: shared/session Revoke and
	// the consume package doc.)
	eventually(t, 10*time.Second, "the revocation processed", func() bool {
		n, err := e.rdb.Exists(context.Background(), consume.MarkerKey(e.rdb, "session-revoked", ev.ID)).Result()
		return err == nil && n == 1
	})
	if err := pub.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if extra := e.pullFor(closed, 3*time.Second); len(extra) != 0 {
		t.Fatalf("%d more session.closed events after the duplicate, want none: %v", len(extra), extra)
	}
	msgs, err := e.rdb.XRange(context.Background(), devicestream.Key(e.rdb, tn.ID, op.Devices[0].ID), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("device A's stream = %v (%v), want exactly one forceLogout", msgs, err)
	}
	if r := e.do("GET", "/v1/session", tokB, ""); r.StatusCode != 200 {
		t.Fatalf("device B after the duplicate = %d %s, want its session untouched", r.StatusCode, r.body)
	}
}

// pullSubscription makes a pull subscription on a topic of the test's
// project (the dev server has created the topics).
func (e *env) pullSubscription(topic string) string {
	e.t.Helper()
	c := e.pubsubClient()
	name := fmt.Sprintf("projects/%s/subscriptions/t-%s", e.project, ids.New(ids.Event)[4:])
	if _, err := c.SubscriptionAdminClient.CreateSubscription(context.Background(), &pubsubpb.Subscription{
		Name: name, Topic: "projects/" + e.project + "/topics/" + topic,
	}); err != nil {
		e.t.Fatal(err)
	}
	return name
}

func (e *env) pubsubClient() *pubsub.Client {
	e.t.Helper()
	c, err := pubsub.NewClient(context.Background(), e.project)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// pull reads exactly n messages within 15 s.
func (e *env) pull(sub string, n int) []*pubsubpb.PubsubMessage {
	e.t.Helper()
	c := e.pubsubClient()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got []*pubsubpb.PubsubMessage
	for len(got) < n {
		res, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100})
		if err != nil {
			e.t.Fatalf("pull %s: got %d of %d: %v", sub, len(got), n, err)
		}
		var acks []string
		for _, m := range res.GetReceivedMessages() {
			got = append(got, m.GetMessage())
			acks = append(acks, m.GetAckId())
		}
		if len(acks) > 0 {
			_ = c.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: acks})
		}
	}
	return got
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
