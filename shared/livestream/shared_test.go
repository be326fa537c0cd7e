package livestream

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// Two operators signed in on one desk PC: each stream carries only what
// its own session may see — the properties of its scope, the inbox
// categories of its roles, its own forceLogout — and A's forceLogout ends
// A's stream, not B's.
func TestSSESharedDeviceIsPerOperator(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	tn, p1, p2 := ids.New(ids.Tenant), ids.New(ids.Property), ids.New(ids.Property)
	a := newSession(tn, p1)
	a.Roles = []string{tenant.RoleFrontDesk}
	b := newSession(tn, p2)
	b.Roles = []string{tenant.RoleHousekeepingLead}
	b.DeviceID = a.DeviceID // the same PC
	in := newInstance(t, rdb, Options{}, a, b)
	ca, cb := in.connect(a, ""), in.connect(b, "")
	ca.next()
	cb.next()

	push := func(prop, typ string, data map[string]string) {
		t.Helper()
		data["propertyId"] = prop
		if err := devicestream.AppendProperty(ctx, rdb, tn, prop, typ, data); err != nil {
			t.Fatal(err)
		}
	}
	push(p1, devicestream.TypeAIInboxChanged, map[string]string{"n": "a-prop", "category": "overbooking_warning"})
	push(p2, devicestream.TypeAIInboxChanged, map[string]string{"n": "b-rate", "category": "rate_change"})
	push(p2, devicestream.TypeAIInboxChanged, map[string]string{"n": "b-reorder", "category": "housekeeping_reorder"})
	push(p2, devicestream.TypeAlertInboxChanged, map[string]string{"n": "b-oversold", "category": "oversold"})
	push(p2, devicestream.TypeViewInvalidated, map[string]string{"n": "b-view"})
	marker(t, rdb, a, "end")
	if got := ca.until("end"); !equal(got, []string{"aiInboxChanged:a-prop"}) {
		t.Errorf("A (front desk, p1) got %v", got)
	}
	if got := cb.until("end"); !equal(got, []string{"aiInboxChanged:b-reorder", "viewInvalidated:b-view"}) {
		t.Errorf("B (housekeeping lead, p2) got %v", got)
	}

	if _, err := devicestream.Append(ctx, rdb, tn, a.DeviceID, devicestream.TypeForceLogout, map[string]string{"sessionId": a.ID, "reason": "revoked"}); err != nil {
		t.Fatal(err)
	}
	if ev := ca.next(); ev.Event != devicestream.TypeForceLogout {
		t.Fatalf("A got %+v, want its forceLogout", ev)
	}
	if !ca.ended() {
		t.Fatal("A's stream still open after its forceLogout")
	}
	marker(t, rdb, b, "after")
	if got := cb.until("after"); len(got) != 0 {
		t.Errorf("B got %v after A's forceLogout, want nothing (and its stream still open)", got)
	}
}

// The session is read again before a push: a property taken out of the
// session's scope stops reaching the stream without a reconnect.
func TestSSEPushFollowsTheSessionsCurrentScope(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	p1, p2 := ids.New(ids.Property), ids.New(ids.Property)
	m := session.NewManager(rdb, scope{p1, p2}, session.Options{PIIKey: []byte("k")})
	pr := auth.Principal{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		IssuedAt: time.Now().Add(-time.Minute), ExpiresAt: time.Now().Add(time.Hour)}
	s, _, err := m.Resolve(ctx, pr, "", session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, rdb, Options{Sessions: m}, s)
	c := in.connect(s, "")
	c.next()
	push := func(prop, n string) {
		t.Helper()
		if err := devicestream.AppendProperty(ctx, rdb, s.TenantID, prop, devicestream.TypeViewInvalidated, map[string]string{"propertyId": prop, "n": n}); err != nil {
			t.Fatal(err)
		}
	}
	push(p2, "before")
	marker(t, rdb, s, "m1")
	if got := c.until("m1"); !equal(got, []string{"viewInvalidated:before"}) {
		t.Fatalf("before narrowing got %v", got)
	}
	// The operator loses p2 (what the session's access refresh writes).
	key := rdb.KeyNames().Session(s.ID)
	raw, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["propertyScope"] = []string{p1}
	raw, _ = json.Marshal(doc)
	if err := rdb.Set(ctx, key, raw, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	push(p2, "after")
	push(p1, "kept")
	marker(t, rdb, s, "m2")
	if got := c.until("m2"); !equal(got, []string{"viewInvalidated:kept"}) {
		t.Fatalf("after narrowing got %v, want only p1's event", got)
	}
}

// A fourth stream of one device, on another instance, closes the oldest
// with a long retry hint; the three newest stay open.
func TestSSEFourthStreamClosesTheOldest(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	s := newSession("")
	in1, in2 := newInstance(t, rdb, Options{}, s), newInstance(t, rdb, Options{}, s)
	var cs []*client
	for i := range MaxPerDevice {
		in := in1
		if i%2 == 1 {
			in = in2
		}
		c := in.connect(s, "")
		c.next()
		cs = append(cs, c)
	}
	fourth := in2.connect(s, "")
	fourth.next()
	b := cs[0].next()
	if b.Retry != "60000" || len(b.Comments) != 1 {
		t.Fatalf("oldest stream got %+v, want a 60 s retry and the reason", b)
	}
	if !cs[0].ended() {
		t.Fatal("the oldest stream is still open")
	}
	marker(t, rdb, s, "end")
	for i, c := range append(cs[1:], fourth) {
		if got := c.until("end"); len(got) != 0 {
			t.Errorf("stream %d got %v", i+1, got)
		}
	}
}

// A stream never outlives its token: it ends with the reconnect hint when
// the token expires, long before MaxAge.
func TestSSEEndsAtTokenExpiry(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	s := newSession("")
	in := newInstance(t, rdb, Options{MaxAge: time.Hour}, s)
	exp := time.Now().Add(300 * time.Millisecond).Format(time.RFC3339Nano)
	c := in.connectURL(s, "", "/?session="+s.ID+"&exp="+url.QueryEscape(exp))
	c.next()
	b := c.next()
	if b.Retry != "5000" || len(b.Comments) != 1 || b.Comments[0] != "reconnect" {
		t.Fatalf("got %+v, want the reconnect hint at token expiry", b)
	}
	if !c.ended() {
		t.Fatal("stream open past its token's expiry")
	}
}

// A stream lasts 55 minutes by default — before Cloud Run's 60-minute
// request limit — and never past its token: checked on a fixed clock.
func TestLifetime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	s := &Server{opts: Options{Now: func() time.Time { return now }}.withDefaults()}
	cases := []struct {
		exp  time.Time
		want time.Duration
	}{
		{time.Time{}, 55 * time.Minute},
		{now.Add(2 * time.Hour), 55 * time.Minute},
		{now.Add(10 * time.Minute), 10 * time.Minute},
		{now.Add(-time.Second), 0},
	}
	for _, c := range cases {
		if got := s.lifetime(actorWithExp(c.exp)); got != c.want {
			t.Errorf("lifetime(exp %v) = %v, want %v", c.exp, got, c.want)
		}
	}
}

func actorWithExp(exp time.Time) actor.Actor { return actor.Actor{TokenExpiresAt: exp} }
