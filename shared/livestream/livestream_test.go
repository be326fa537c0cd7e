package livestream

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// wait bounds every receive: generous, since only counts are asserted.
const wait = 15 * time.Second

// block is one SSE block as a client parses it.
type block struct {
	ID, Event, Data, Retry string
	Comments               []string
}

// instance is one "Cloud Run instance": a Server on its own Redis client,
// behind a real HTTP server. Sessions are looked up by the device query
// parameter, standing in for the gate, and connected with Connect as the
// events function does.
type instance struct {
	t        *testing.T
	srv      *Server
	http     *httptest.Server
	sessions map[string]*session.Session
}

func newInstance(t *testing.T, rdb *redisx.Client, o Options, sessions ...*session.Session) *instance {
	t.Helper()
	// Same Redis and prefix, own connections: what a second instance has.
	own, err := redisx.Open(context.Background(), redisx.Config{Addr: rdb.Options().Addr, KeyPrefix: rdb.Prefix, PoolSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = own.Close() })
	return serveInstance(t, own, o, sessions...)
}

// serveInstance serves a Server on own (the instance's Redis client) over
// HTTP; the caller closes own.
func serveInstance(t *testing.T, own *redisx.Client, o Options, sessions ...*session.Session) *instance {
	t.Helper()
	s, err := New(context.Background(), own, o)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, srv: s, sessions: map[string]*session.Session{}}
	for _, ss := range sessions {
		in.sessions[ss.TenantID+"/"+ss.DeviceID] = ss
		in.sessions[ss.ID] = ss
	}
	in.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ss := in.sessions[q.Get("session")]
		if ss == nil {
			ss = in.sessions[q.Get("tenant")+"/"+q.Get("device")]
		}
		a := actor.Actor{TenantID: ss.TenantID, OperatorID: ss.OperatorID, DeviceID: ss.DeviceID, SessionID: ss.ID,
			PropertyScope: ss.PropertyScope, Roles: ss.Roles}
		if exp := q.Get("exp"); exp != "" {
			a.TokenExpiresAt, _ = time.Parse(time.RFC3339Nano, exp)
		}
		stream, _, err := s.Connect(a, "Last-Event-ID", r.Header.Get("Last-Event-ID"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		stream(r.Context(), w)
	}))
	t.Cleanup(func() {
		in.http.CloseClientConnections()
		s.Close()
		in.http.Close()
	})
	return in
}

func newSession(tenant string, props ...string) *session.Session {
	if tenant == "" {
		tenant = ids.New(ids.Tenant)
	}
	if len(props) == 0 {
		props = []string{ids.New(ids.Property)}
	}
	return &session.Session{ID: ids.New(ids.Session), TenantID: tenant, OperatorID: ids.New(ids.Operator),
		DeviceID: ids.New(ids.Device), PropertyScope: props, State: session.StateOpen}
}

// client is one open stream; blocks arrives in order and is closed at EOF.
type client struct {
	t      *testing.T
	blocks chan block
	cancel context.CancelFunc
}

func (in *instance) connect(s *session.Session, last string) *client {
	in.t.Helper()
	return in.connectURL(s, last, "/?session="+s.ID+"&tenant="+s.TenantID+"&device="+s.DeviceID)
}

func (in *instance) connectURL(s *session.Session, last, path string) *client {
	in.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", in.http.URL+path, nil)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		in.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		cancel()
		in.t.Fatalf("status %d, Content-Type %q", res.StatusCode, ct)
	}
	c := &client{t: in.t, blocks: make(chan block, 2048), cancel: cancel}
	go func() {
		defer close(c.blocks)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var b block
		empty := true
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if !empty {
					c.blocks <- b
				}
				b, empty = block{}, true
				continue
			}
			empty = false
			if c, ok := strings.CutPrefix(line, ":"); ok {
				b.Comments = append(b.Comments, strings.TrimSpace(c))
				continue
			}
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "id":
				b.ID = v
			case "event":
				b.Event = v
			case "data":
				b.Data += v
			case "retry":
				b.Retry = v
			}
		}
	}()
	in.t.Cleanup(cancel)
	return c
}

// next returns the next block that is not a keep-alive, failing at EOF.
func (c *client) next() block {
	c.t.Helper()
	for {
		select {
		case b, ok := <-c.blocks:
			if !ok {
				c.t.Fatal("stream ended")
			}
			if b.ID == "" && b.Event == "" && b.Retry == "" && len(b.Comments) == 1 && b.Comments[0] == "keep-alive" {
				continue
			}
			return b
		case <-time.After(wait):
			c.t.Fatal("no block")
		}
	}
}

// events reads events until one with a "marker" field equal to stop, and
// returns the n values before it.
func (c *client) until(stop string) []string {
	c.t.Helper()
	var got []string
	for {
		b := c.next()
		if b.Event == "" && b.Data == "" && b.ID != "" {
			continue // an entry this session may not see: its id only
		}
		var d struct{ N, Marker string }
		if err := json.Unmarshal([]byte(b.Data), &d); err != nil {
			c.t.Fatalf("block %+v: %v", b, err)
		}
		if d.Marker == stop {
			return got
		}
		got = append(got, b.Event+":"+d.N)
	}
}

func (c *client) ended() bool {
	select {
	case _, ok := <-c.blocks:
		for ok {
			_, ok = <-c.blocks
		}
		return true
	case <-time.After(wait):
		return false
	}
}

func appendN(t *testing.T, rdb *redisx.Client, s *session.Session, typ string, from, to int) []string {
	t.Helper()
	var idsOut []string
	for i := from; i <= to; i++ {
		id, err := devicestream.Append(context.Background(), rdb, s.TenantID, s.DeviceID, typ, map[string]string{"n": fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		idsOut = append(idsOut, id)
	}
	return idsOut
}

func marker(t *testing.T, rdb *redisx.Client, s *session.Session, m string) {
	t.Helper()
	if _, err := devicestream.Append(context.Background(), rdb, s.TenantID, s.DeviceID, devicestream.TypeViewInvalidated, map[string]string{"marker": m}); err != nil {
		t.Fatal(err)
	}
}

func seq(typ string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s:%d", typ, i))
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// Two instances on separate Redis clients: an append made anywhere reaches
// the device's connection on whichever instance holds it, and no other
// device's (the same device id in another tenant included).
func TestSSEFanOutAcrossInstances(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	a1, b1 := newSession(""), newSession("")
	twin := newSession("") // b1's device id in another tenant
	twin.DeviceID = b1.DeviceID
	instA := newInstance(t, rdb, Options{}, a1)
	instB := newInstance(t, rdb, Options{}, b1, twin)
	ca, cb, ct := instA.connect(a1, ""), instB.connect(b1, ""), instB.connect(twin, "")
	for _, c := range []*client{ca, cb, ct} {
		if b := c.next(); b.ID != "0-0" || b.Retry == "" {
			t.Fatalf("first block = %+v, want the position 0-0 and a retry hint", b)
		}
	}
	appendN(t, rdb, a1, devicestream.TypeAIInboxChanged, 1, 3)
	appendN(t, rdb, b1, devicestream.TypeAlertInboxChanged, 1, 2)
	appendN(t, rdb, a1, devicestream.TypeAIInboxChanged, 4, 5)
	for _, s := range []*session.Session{a1, b1, twin} {
		marker(t, rdb, s, "end")
	}
	if got := ca.until("end"); !equal(got, seq(devicestream.TypeAIInboxChanged, 1, 5)) {
		t.Errorf("device on instance A got %v", got)
	}
	if got := cb.until("end"); !equal(got, seq(devicestream.TypeAlertInboxChanged, 1, 2)) {
		t.Errorf("device on instance B got %v", got)
	}
	if got := ct.until("end"); len(got) != 0 {
		t.Errorf("same device id in another tenant got %v", got)
	}
	if n := instA.srv.Connections() + instB.srv.Connections(); n != 3 {
		t.Errorf("connections = %d, want 3", n)
	}
}

// Keep-alive comments while idle, the registry refreshed by them, and the
// end before MaxAge with the retry hint.
func TestSSEKeepAliveAndEnd(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	s := newSession("")
	in := newInstance(t, rdb, Options{KeepAlive: 20 * time.Millisecond, MaxAge: 500 * time.Millisecond, Retry: 1234 * time.Millisecond}, s)
	c := in.connect(s, "")
	var blocks []block
	for b := range c.blocks {
		blocks = append(blocks, b)
	}
	if len(blocks) < 3 {
		t.Fatalf("blocks = %+v, want start, keep-alives, end", blocks)
	}
	keepAlives := 0
	for _, b := range blocks[1 : len(blocks)-1] {
		if len(b.Comments) == 1 && b.Comments[0] == "keep-alive" {
			keepAlives++
		}
	}
	if keepAlives == 0 {
		t.Errorf("no keep-alive in %+v", blocks)
	}
	if last := blocks[len(blocks)-1]; last.Retry != "1234" {
		t.Errorf("last block = %+v, want retry: 1234", last)
	}
	for _, k := range []string{devicestream.TenantKey(rdb, s.TenantID), devicestream.PropertyKey(rdb, s.TenantID, s.PropertyScope[0])} {
		if _, err := rdb.ZScore(context.Background(), k, s.DeviceID).Result(); err != nil {
			t.Errorf("registry %s: %v", k, err)
		}
	}
}

// Events appended while the device was away are all replayed on a
// reconnect with Last-Event-ID, in order, none twice — also when the device
// had only ever seen the position of an empty stream.
func TestSSEResumeWithoutGap(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	s := newSession("")
	in := newInstance(t, rdb, Options{}, s)

	c := in.connect(s, "")
	pos := c.next().ID
	c.cancel()
	appendN(t, rdb, s, devicestream.TypeAIInboxChanged, 1, 3)

	c = in.connect(s, pos)
	if b := c.next(); b.Retry == "" || b.Event != "" {
		t.Fatalf("first block of a resume = %+v, want only the retry hint", b)
	}
	var lastID string
	for i := 1; i <= 3; i++ {
		b := c.next()
		if want := fmt.Sprintf(`{"n":"%d"}`, i); b.Data != want || b.Event != devicestream.TypeAIInboxChanged {
			t.Fatalf("event %d = %+v, want %s", i, b, want)
		}
		lastID = b.ID
	}
	c.cancel()

	// 250 while away: more than one read batch.
	appendN(t, rdb, s, devicestream.TypeAlertInboxChanged, 4, 253)
	c = in.connect(s, lastID)
	c.next() // retry
	marker(t, rdb, s, "end")
	if got := c.until("end"); !equal(got, seq(devicestream.TypeAlertInboxChanged, 4, 253)) {
		t.Fatalf("resumed %d events, want 4..253 in order: %v", len(got), got)
	}
	appendN(t, rdb, s, devicestream.TypeAIInboxChanged, 254, 254)
	marker(t, rdb, s, "live")
	if got := c.until("live"); !equal(got, seq(devicestream.TypeAIInboxChanged, 254, 254)) {
		t.Fatalf("live after resume: %v", got)
	}
}

// A resume that cannot be proven gap-free gets resync with the current
// position, and the stream goes on from there.
func TestSSEResync(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()

	t.Run("trimmed", func(t *testing.T) {
		s := newSession("")
		in := newInstance(t, rdb, Options{}, s)
		in.connect(s, "").next() // registers the device
		first := appendN(t, rdb, s, devicestream.TypeAIInboxChanged, 1, 1)[0]
		ids := appendN(t, rdb, s, devicestream.TypeAIInboxChanged, 2, 3*devicestream.MaxLen)
		if n, _ := rdb.XLen(ctx, devicestream.Key(rdb, s.TenantID, s.DeviceID)).Result(); n >= 3*devicestream.MaxLen {
			t.Fatalf("stream not trimmed: %d entries", n)
		}
		c := in.connect(s, first)
		b := c.next()
		if b.Event != "resync" || b.Data != `{"reason":"trimmed"}` || b.ID != ids[len(ids)-1] {
			t.Fatalf("first block = %+v, want resync trimmed at %s", b, ids[len(ids)-1])
		}
		marker(t, rdb, s, "end")
		if got := c.until("end"); len(got) != 0 {
			t.Fatalf("after resync got %d old events", len(got))
		}
	})

	t.Run("unknown", func(t *testing.T) {
		s := newSession("")
		in := newInstance(t, rdb, Options{}, s)
		in.connect(s, "").next()
		c := in.connect(s, "1-0") // the stream never had it (and holds nothing)
		if b := c.next(); b.Event != "resync" || b.Data != `{"reason":"unknown"}` || b.ID != "0-0" {
			t.Fatalf("first block = %+v, want resync unknown at 0-0", b)
		}
		appendN(t, rdb, s, devicestream.TypeAIInboxChanged, 1, 1)
		marker(t, rdb, s, "end")
		if got := c.until("end"); !equal(got, seq(devicestream.TypeAIInboxChanged, 1, 1)) {
			t.Fatalf("after resync: %v", got)
		}
	})

	t.Run("away", func(t *testing.T) {
		s := newSession("")
		in := newInstance(t, rdb, Options{}, s)
		id := appendN(t, rdb, s, devicestream.TypeAIInboxChanged, 1, 2)[0]
		// Seen 25 h ago: property-wide events since then skipped it.
		old := float64(time.Now().Add(-25 * time.Hour).UnixMilli())
		for _, k := range []string{devicestream.TenantKey(rdb, s.TenantID), devicestream.PropertyKey(rdb, s.TenantID, s.PropertyScope[0])} {
			rdb.ZAdd(ctx, k, redis.Z{Score: old, Member: s.DeviceID})
		}
		c := in.connect(s, id)
		if b := c.next(); b.Event != "resync" || b.Data != `{"reason":"away"}` {
			t.Fatalf("first block = %+v, want resync away", b)
		}
	})
}

// forceLogout is delivered and then the stream ends.
func TestSSEForceLogoutEndsStream(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	s := newSession("")
	in := newInstance(t, rdb, Options{}, s)
	c := in.connect(s, "")
	c.next()
	if _, err := devicestream.Append(context.Background(), rdb, s.TenantID, s.DeviceID, devicestream.TypeForceLogout, map[string]string{"sessionId": s.ID, "reason": "revoked"}); err != nil {
		t.Fatal(err)
	}
	if b := c.next(); b.Event != devicestream.TypeForceLogout {
		t.Fatalf("got %+v, want forceLogout", b)
	}
	if !c.ended() {
		t.Fatal("stream still open after forceLogout")
	}
}

// AppendProperty reaches the devices registered with the property (also one
// offline, on its next resume), not those of another property or seen too
// long ago; AppendTenant reaches every device of the tenant.
func TestSSEAppendPropertyAndTenant(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	tenant, p1, p2 := ids.New(ids.Tenant), ids.New(ids.Property), ids.New(ids.Property)
	on1, on2, off1, stale1 := newSession(tenant, p1), newSession(tenant, p2), newSession(tenant, p1, p2), newSession(tenant, p1)
	in := newInstance(t, rdb, Options{}, on1, on2, off1)
	c1, c2 := in.connect(on1, ""), in.connect(on2, "")
	c1.next()
	c2.next()
	offPos := in.connect(off1, "")
	pos := offPos.next().ID
	offPos.cancel()
	rdb.ZAdd(ctx, devicestream.PropertyKey(rdb, tenant, p1), redis.Z{Score: float64(time.Now().Add(-25 * time.Hour).UnixMilli()), Member: stale1.DeviceID})

	if err := devicestream.AppendProperty(ctx, rdb, tenant, p1, devicestream.TypeAIInboxChanged, map[string]string{"n": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := devicestream.AppendTenant(ctx, rdb, tenant, devicestream.TypeViewInvalidated, map[string]string{"n": "2"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*session.Session{on1, on2, off1} {
		marker(t, rdb, s, "end")
	}
	if got := c1.until("end"); !equal(got, []string{"aiInboxChanged:1", "viewInvalidated:2"}) {
		t.Errorf("device of p1 got %v", got)
	}
	if got := c2.until("end"); !equal(got, []string{"viewInvalidated:2"}) {
		t.Errorf("device of p2 got %v", got)
	}
	c := in.connect(off1, pos)
	c.next() // retry
	if got := c.until("end"); !equal(got, []string{"aiInboxChanged:1", "viewInvalidated:2"}) {
		t.Errorf("offline device of p1 resumed %v", got)
	}
	if n, _ := rdb.Exists(ctx, devicestream.Key(rdb, tenant, stale1.DeviceID)).Result(); n != 0 {
		t.Error("a device seen 25 h ago got the property event")
	}
	if _, err := rdb.ZScore(ctx, devicestream.PropertyKey(rdb, tenant, p1), stale1.DeviceID).Result(); err != redis.Nil {
		t.Errorf("stale device still registered: %v", err)
	}
}

type scope []string

func (s scope) OperatorAccess(context.Context, string, string) (session.Access, error) {
	return session.Access{Roles: []string{"front_desk"}, PropertyScope: s}, nil
}

// A keep-alive finds the session signed out and ends the stream (the
// reconnect then gets the gate's 401).
func TestSSEEndsWhenSessionCloses(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	m := session.NewManager(rdb, scope{ids.New(ids.Property)}, session.Options{PIIKey: []byte("k")})
	p := auth.Principal{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		IssuedAt: time.Now().Add(-time.Minute), ExpiresAt: time.Now().Add(time.Hour)}
	s, _, err := m.Resolve(ctx, p, "", session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, rdb, Options{KeepAlive: 20 * time.Millisecond, Sessions: m}, s)
	c := in.connect(s, "")
	c.next()
	select {
	case b := <-c.blocks:
		if len(b.Comments) != 1 || b.Comments[0] != "keep-alive" {
			t.Fatalf("got %+v, want a keep-alive while the session is open", b)
		}
	case <-time.After(wait):
		t.Fatal("no keep-alive")
	}
	if _, err := m.Close(ctx, s, p.IssuedAt); err != nil {
		t.Fatal(err)
	}
	if !c.ended() {
		t.Fatal("stream still open after sign-out")
	}
}

// An instance holds one Redis pub/sub subscription however many streams it
// serves: the streams of five devices share the one connection in
// subscribed state that the instance's Redis client holds.
func TestOneSubscriptionPerInstance(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	name := "livestream-test-" + testenv.Unique()
	own := &redisx.Client{Client: redis.NewClient(&redis.Options{Addr: rdb.Options().Addr, ClientName: name, DisableIdentity: true, PoolSize: 8}), Prefix: rdb.Prefix}
	t.Cleanup(func() { _ = own.Close() })
	var sessions []*session.Session
	for range 5 {
		sessions = append(sessions, newSession(""))
	}
	in := serveInstance(t, own, Options{}, sessions...)
	s := in.srv
	for _, ss := range sessions {
		c := in.connect(ss, "")
		if b := c.next(); b.ID != "0-0" {
			t.Fatalf("first block = %+v", b)
		}
	}
	if n := s.Connections(); n != 5 {
		t.Fatalf("connections = %d, want 5", n)
	}
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	subscribed, named := 0, 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		named++
		for _, f := range strings.Fields(line) {
			if (strings.HasPrefix(f, "psub=") || strings.HasPrefix(f, "sub=")) && f != "psub=0" && f != "sub=0" {
				subscribed++
				break
			}
		}
	}
	if named == 0 || subscribed != 1 {
		t.Fatalf("%d connections of the instance, %d of them subscribed; want exactly 1 subscribed", named, subscribed)
	}
}

// The defaults the README states: a keep-alive every 15 s, the stream
// ended before 55 min (Cloud Run's limit is 60), a 5 s retry hint.
// TestSSEKeepAliveAndEnd shows the mechanism with short settings.
func TestStreamDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.KeepAlive != 15*time.Second || o.MaxAge != 55*time.Minute || o.Retry != 5*time.Second {
		t.Fatalf("defaults = %+v, want keep-alive 15 s, max age 55 min, retry 5 s", o)
	}
}
