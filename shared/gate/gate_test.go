package gate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/auth/authtest"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/session/sessiontest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// The gate as deployed: the real token verifier (ES256, a test key), the
// session manager on Redis, the group-commit ledger on Postgres as the app
// role; only tenant-service and Pub/Sub are stand-ins. Every step appends
// to a trace, so the order is asserted, and the answer's first byte checks
// what the ledger has committed by then.

// trace is the order the pipeline's steps ran in.
type trace struct {
	mu    sync.Mutex
	steps []string
}

func (tr *trace) add(s string) {
	tr.mu.Lock()
	tr.steps = append(tr.steps, s)
	tr.mu.Unlock()
}

func (tr *trace) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.steps)
}

type tracedVerifier struct {
	v  *auth.Verifier
	tr *trace
}

func (t tracedVerifier) Verify(ctx context.Context, authz string) (auth.Principal, error) {
	t.tr.add("verify")
	return t.v.Verify(ctx, authz)
}

// directory stands in for tenant-service: the operators it lists get one
// property and the front desk role; others have an empty scope.
type directory struct {
	tr    *trace
	prop  string
	scope map[string]bool
}

func (d directory) OperatorAccess(_ context.Context, _, operatorID string) (session.Access, error) {
	d.tr.add("open session")
	if !d.scope[operatorID] {
		return session.Access{Roles: []string{"front_desk"}}, nil
	}
	return session.Access{Roles: []string{"front_desk"}, PropertyScope: []string{d.prop}}, nil
}

type tracedLedger struct {
	l  *activity.Ledger
	tr *trace
}

func (t tracedLedger) Record(ctx context.Context, es ...activity.Entry) error {
	t.tr.add("record")
	return t.l.Record(ctx, es...)
}

// publisher fails every publish (Pub/Sub is down) after noting it.
type publisher struct {
	tr  *trace
	err error
}

func (p publisher) Publish(_ context.Context, evs ...events.Envelope) error {
	for _, ev := range evs {
		p.tr.add("publish " + ev.Subject)
	}
	return p.err
}

type fixture struct {
	t      testing.TB
	g      *gate.Gate
	v      *auth.Verifier   // untraced, for the benchmark
	ledger *activity.Ledger // untraced
	db     *pg.DB
	tr     *trace
	iam    *authtest.Issuer
	tenant string
	prop   string
	dir    directory
}

func newFixture(t testing.TB, pubErr error) *fixture {
	t.Helper()
	db, _ := testenv.Postgres(t)
	iam := authtest.New(t)
	v := iam.Verifier(t)
	tr := &trace{}
	ledger := activity.NewLedger(db, activity.Options{})
	t.Cleanup(ledger.Close)
	f := &fixture{t: t, db: db, tr: tr, iam: iam, tenant: ids.New(ids.Tenant), prop: ids.New(ids.Property), v: v, ledger: ledger}
	f.dir = directory{tr: tr, prop: f.prop, scope: map[string]bool{}}
	f.g = &gate.Gate{
		Verifier:       tracedVerifier{v, tr},
		Sessions:       session.NewManager(testenv.Redis(t), f.dir, session.Options{PIIKey: sessiontest.PIIKey}),
		Ledger:         tracedLedger{ledger, tr},
		Publisher:      publisher{tr, pubErr},
		Log:            logtest.TestLogger(t),
		PublishTimeout: time.Second,
	}
	return f
}

// operator is a new operator of the tenant, with the property in scope
// unless noScope.
func (f *fixture) operator(noScope bool) (operatorID, deviceID string) {
	operatorID, deviceID = ids.New(ids.Operator), ids.New(ids.Device)
	f.dir.scope[operatorID] = !noScope
	return operatorID, deviceID
}

func (f *fixture) token(operatorID, deviceID string) string {
	return f.iam.Token(f.t, f.tenant, operatorID, deviceID)
}

// row is what the tests compare of a ledger row.
type row struct {
	Action, Category, Outcome, ErrorCode, PropertyID string
	HasSession                                       bool
}

// rows reads the tenant's committed ledger as the app role.
func (f *fixture) rows() []row {
	f.t.Helper()
	var out []row
	err := f.db.InTenantTx(context.Background(), f.tenant, func(ctx context.Context, tx pgx.Tx) error {
		rs, err := tx.Query(ctx, `SELECT action, category, outcome, coalesce(error_code, ''), coalesce(property_id, ''), session_id IS NOT NULL
			FROM bff.operator_activity WHERE tenant_id = $1 ORDER BY occurred_at, action`, f.tenant)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.Action, &r.Category, &r.Outcome, &r.ErrorCode, &r.PropertyID, &r.HasSession); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rs.Err()
	})
	if err != nil {
		f.t.Fatalf("read ledger: %v", err)
	}
	return out
}

// answerWriter notes the answer in the trace and, at that moment, what the
// ledger holds.
type answerWriter struct {
	http.ResponseWriter
	f       *fixture
	once    sync.Once
	atFirst []row
}

func (w *answerWriter) first() {
	w.once.Do(func() {
		w.f.tr.add("answer")
		w.atFirst = w.f.rows()
	})
}

func (w *answerWriter) WriteHeader(code int) { w.first(); w.ResponseWriter.WriteHeader(code) }
func (w *answerWriter) Write(b []byte) (int, error) {
	w.first()
	return w.ResponseWriter.Write(b)
}

// serve runs one request through httpx.Wrap and the gate.
func (f *fixture) serve(h gate.Handler, authz string) (*httptest.ResponseRecorder, *answerWriter) {
	f.t.Helper()
	rec := httptest.NewRecorder()
	w := &answerWriter{ResponseWriter: rec, f: f}
	r := httptest.NewRequest(http.MethodGet, "/v1/thing", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	httpx.Wrap(f.g.Log, f.g.Handle(h)).ServeHTTP(w, r)
	return rec, w
}

func viewed(tr *trace) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		tr.add("handler")
		if c.Session == nil || c.Actor.SessionID != c.Session.ID || c.Actor.DefaultProperty() == "" {
			return gate.Result{}, errors.New("handler ran without a resolved session and actor")
		}
		c.Note = activity.Note{Category: activity.CategoryView, Action: activity.ActionDashboardViewed}
		return gate.Result{Status: http.StatusOK, Body: map[string]string{"ok": "yes"}}, nil
	}
}

func TestOrderVerifyResolveHandlerRecordAnswer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, errors.New("pub/sub down"))
	op, dev := f.operator(false)
	tok := f.token(op, dev)

	rec, w := f.serve(viewed(f.tr), tok)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ok":"yes"`) {
		t.Fatalf("first request = %d %s; a failing Pub/Sub must not fail it", rec.Code, rec.Body)
	}
	want := []string{"verify", "open session", "handler", "record", "publish " + events.SessionOpened, "answer"}
	if diff := cmp.Diff(want, f.tr.get()); diff != "" {
		t.Errorf("steps of the first request (-want +got):\n%s", diff)
	}
	wantRows := []row{
		{Action: activity.ActionDashboardViewed, Category: "view", Outcome: "success", PropertyID: f.prop, HasSession: true},
		{Action: activity.ActionSessionOpened, Category: "auth", Outcome: "success", PropertyID: f.prop, HasSession: true},
	}
	if diff := cmp.Diff(wantRows, w.atFirst); diff != "" {
		t.Errorf("ledger when the answer started (-want +got):\n%s", diff)
	}
	if rec.Header().Get("X-Session-Id") == "" {
		t.Error("no X-Session-Id on the answer")
	}

	// The session exists now: no opening, no event, one row.
	f.tr.steps = nil
	rec, w = f.serve(viewed(f.tr), tok)
	if rec.Code != http.StatusOK {
		t.Fatalf("second request = %d %s", rec.Code, rec.Body)
	}
	if diff := cmp.Diff([]string{"verify", "handler", "record", "answer"}, f.tr.get()); diff != "" {
		t.Errorf("steps of the second request (-want +got):\n%s", diff)
	}
	if len(w.atFirst) != 3 {
		t.Errorf("ledger holds %d rows when the second answer starts, want 3", len(w.atFirst))
	}
}

func TestFailureRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	forbidden := func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		c.Note = activity.Note{Category: activity.CategoryView, Action: activity.ActionWorkbenchArrivalsOpened}
		return gate.Result{}, c.RequireRole("night_auditor")
	}
	noNote := func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		return gate.Result{}, apperr.New(apperr.NotFound, "nothing here")
	}
	recorded := func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		c.Note = activity.Note{Category: activity.CategoryAIDecision, Action: activity.ActionAISuggestionDecide, Recorded: true}
		return gate.Result{Status: http.StatusCreated}, nil
	}
	cases := []struct {
		name    string
		noScope bool
		authz   func(op, dev string) string
		h       gate.Handler
		status  int
		code    apperr.Code
		rows    []row // besides the session.opened row of a successful open
		opened  bool
	}{
		{name: "handler error is a failure row", h: forbidden, status: http.StatusForbidden, code: apperr.ForbiddenRole, opened: true,
			rows: []row{{Action: activity.ActionWorkbenchArrivalsOpened, Category: "view", Outcome: "failure", ErrorCode: string(apperr.ForbiddenRole), HasSession: true}}},
		{name: "refused session", noScope: true, h: viewed(&trace{}), status: http.StatusForbidden, code: apperr.NoPropertyScope,
			rows: []row{{Action: activity.ActionSessionRefused, Category: "auth", Outcome: "failure", ErrorCode: string(apperr.NoPropertyScope)}}},
		{name: "bad token: no operator, no row", authz: func(string, string) string { return "Bearer nope" }, h: viewed(&trace{}), status: http.StatusUnauthorized, code: apperr.Unauthenticated},
		{name: "error without a note: no row", h: noNote, status: http.StatusNotFound, code: apperr.NotFound, opened: true},
		{name: "row the action recorded itself is not repeated", h: recorded, status: http.StatusCreated, opened: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := *f // same stack, own tenant: rows do not mix
			g.tenant = ids.New(ids.Tenant)
			g.t = t
			op, dev := g.operator(tc.noScope)
			authz := g.token(op, dev)
			if tc.authz != nil {
				authz = tc.authz(op, dev)
			}
			rec, _ := g.serve(tc.h, authz)
			if rec.Code != tc.status {
				t.Fatalf("status = %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.code != "" {
				var p struct{ Code string }
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != string(tc.code) || rec.Header().Get("Content-Type") != "application/problem+json" {
					t.Errorf("body = %s (%s), want problem+json %s", rec.Body, rec.Header().Get("Content-Type"), tc.code)
				}
			}
			want := slices.Clone(tc.rows)
			for i := range want {
				if want[i].HasSession {
					want[i].PropertyID = g.prop
				}
			}
			if tc.opened {
				want = append(want, row{Action: activity.ActionSessionOpened, Category: "auth", Outcome: "success", PropertyID: g.prop, HasSession: true})
			}
			got := g.rows()
			less := func(a, b row) int { return strings.Compare(a.Action, b.Action) }
			slices.SortFunc(want, less)
			slices.SortFunc(got, less)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ledger (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamStartsAfterTheRowIsCommitted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	op, dev := f.operator(false)
	var atStream []row
	h := func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		c.Note = activity.Note{Category: activity.CategoryView, Action: activity.ActionEventsConnected,
			Resource: &activity.Ref{Kind: "device", ID: c.Actor.DeviceID}}
		return gate.Result{Header: http.Header{"X-Stream": {"1"}}, Stream: func(ctx context.Context, w http.ResponseWriter) {
			f.tr.add("stream")
			atStream = f.rows()
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(": hello\n\n"))
		}}, nil
	}
	rec, _ := f.serve(h, f.token(op, dev))
	if rec.Code != http.StatusOK || rec.Body.String() != ": hello\n\n" || rec.Header().Get("X-Stream") != "1" {
		t.Fatalf("stream answer = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	steps := f.tr.get()
	if i, j := slices.Index(steps, "record"), slices.Index(steps, "stream"); i < 0 || j < i {
		t.Errorf("steps %v: the stream must start after the row is recorded", steps)
	}
	actions := []string{}
	for _, r := range atStream {
		actions = append(actions, r.Action)
	}
	slices.Sort(actions)
	if diff := cmp.Diff([]string{activity.ActionEventsConnected, activity.ActionSessionOpened}, actions); diff != "" {
		t.Errorf("rows committed when the stream started (-want +got):\n%s", diff)
	}
}

func TestLedgerDownFailsTheRequestAndDiscardsTheNewSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	op, dev := f.operator(false)
	tok := f.token(op, dev)
	g := *f.g
	g.Ledger = failingLedger{}
	rec := httptest.NewRecorder()
	httpx.Wrap(g.Log, g.Handle(viewed(&trace{}))).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/thing", nil))
	// Without a token: 401 and no ledger call at all.
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("no token = %d", rec.Code)
	}
	r := httptest.NewRequest(http.MethodGet, "/v1/thing", nil)
	r.Header.Set("Authorization", tok)
	rec = httptest.NewRecorder()
	httpx.Wrap(g.Log, g.Handle(viewed(&trace{}))).ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("ledger down = %d %s, want 503", rec.Code, rec.Body)
	}
	// The session whose opening could not be recorded is gone: the next
	// request (ledger back) opens and records it.
	f.tr.steps = nil
	if rec, _ := f.serve(viewed(f.tr), tok); rec.Code != http.StatusOK {
		t.Fatalf("after the outage = %d %s", rec.Code, rec.Body)
	}
	if !slices.Contains(f.tr.get(), "open session") {
		t.Errorf("steps %v: the discarded session was reused", f.tr.get())
	}
}

type failingLedger struct{}

func (failingLedger) Record(context.Context, ...activity.Entry) error {
	return apperr.Unavailable(errors.New("postgres down (test)"), "the activity ledger")
}

func TestMux(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ok := func(context.Context, *gate.Call) (gate.Result, error) {
		return gate.Result{Status: http.StatusNoContent}, nil
	}
	mux := f.g.Mux(map[string]gate.Handler{"GET /v1/x": ok, "DELETE /v1/x": ok, "POST /v1/y/{id}": ok})
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/health", http.StatusOK, ""},
		{http.MethodPut, "/v1/x", http.StatusMethodNotAllowed, "GET, DELETE"},
		{http.MethodGet, "/v1/y/1", http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/v1/nothing", http.StatusNotFound, ""},
		{http.MethodGet, "/v1/x", http.StatusUnauthorized, ""}, // routed to the gate
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		httpx.Wrap(f.g.Log, mux).ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d Allow %q, want %d Allow %q", tc.method, tc.path, rec.Code, rec.Header().Get("Allow"), tc.status, tc.allow)
		}
		if tc.status >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q, want problem+json", tc.method, tc.path, rec.Header().Get("Content-Type"))
		}
	}
}

// hungPublisher never answers (Pub/Sub unreachable, packets dropped): it
// returns only when the gate's context ends, and notes how long the gate
// gave it.
type hungPublisher struct{ gave chan time.Duration }

func (p hungPublisher) Publish(ctx context.Context, _ ...events.Envelope) error {
	dl, ok := ctx.Deadline()
	if !ok {
		p.gave <- -1
		return errors.New("no deadline")
	}
	p.gave <- time.Until(dl)
	<-ctx.Done()
	return ctx.Err()
}

// A hung Pub/Sub neither fails a gated request nor holds it longer than
// the gate's PublishTimeout: the wait is bounded by the context the gate
// hands the publisher.
func TestHungPubSubNeverFailsTheRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	const timeout = 200 * time.Millisecond
	pub := hungPublisher{gave: make(chan time.Duration, 1)}
	f.g.Publisher, f.g.PublishTimeout = pub, timeout
	op, dev := f.operator(false)
	rec, _ := f.serve(viewed(f.tr), f.token(op, dev)) // opens the session: session.opened is published
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ok":"yes"`) {
		t.Fatalf("request with Pub/Sub hung = %d %s, want 200", rec.Code, rec.Body)
	}
	if gave := <-pub.gave; gave <= 0 || gave > timeout {
		t.Fatalf("the publisher was given %s, want at most the PublishTimeout %s", gave, timeout)
	}
	if n := len(f.rows()); n != 2 {
		t.Fatalf("ledger rows = %d, want 2 (session opened, dashboard viewed)", n)
	}
}

// The client's address is the entry the load balancer appended, never one
// the client sent: a forged first hop changes nothing.
func TestClientIP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		xff  []string
		hops int
		want string
	}{
		{"lb appended client and itself", []string{"203.0.113.7, 130.211.0.1"}, 2, "203.0.113.7"},
		{"client forged a first hop", []string{"10.9.9.9, 203.0.113.7, 130.211.0.1"}, 2, "203.0.113.7"},
		{"forged hop in a second header", []string{"10.9.9.9", "203.0.113.7, 130.211.0.1"}, 2, "203.0.113.7"},
		{"too short: not through the lb", []string{"10.9.9.9"}, 2, "192.0.2.1"},
		{"not an address there", []string{"evil, 130.211.0.1"}, 2, "192.0.2.1"},
		{"no header", nil, 2, "192.0.2.1"},
		{"no proxies trusted", []string{"203.0.113.7, 130.211.0.1"}, 0, "192.0.2.1"},
		{"ipv6", []string{"2001:db8::1, 130.211.0.1"}, 2, "2001:db8::1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/v1/session", nil)
		r.RemoteAddr = "192.0.2.1:40000"
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := gate.ClientIP(r, c.hops); got != c.want {
			t.Errorf("%s: ClientIP = %q, want %q", c.name, got, c.want)
		}
	}
}
