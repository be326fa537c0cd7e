package idemhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/jackc/pgx/v5"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth/authtest"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/session/sessiontest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// The tests run the real pipeline over HTTP — httpx.Wrap, the gate with
// the real token verifier (ES256, a test key), sessions in Redis, the
// group-commit activity ledger on Postgres as the app role, the Pub/Sub
// publisher on the emulator, and Wrap on the Firestore emulator — so "byte
// for byte" is checked on the wire. Only tenant-service is a stand-in.

// The stored format, as another deploy of the service reads it: records
// live 7 days, so a field renamed or retyped in idempotency without a
// migration fails here first. read checks every record it reads against
// it: each field by name, with the type Firestore hands back for it
// (optional: present only in some states).
const (
	stateInFlight  = "in_flight"
	stateCompleted = "completed"
)

type storedField struct {
	typ      string
	optional bool
}

var (
	storedFields = map[string]storedField{
		"tenantId": {typ: "string"}, "deviceId": {typ: "string"}, "operatorId": {typ: "string"},
		"key": {typ: "string"}, "fingerprint": {typ: "string"}, "method": {typ: "string"}, "path": {typ: "string"},
		"state": {typ: "string"}, "owner": {typ: "string"}, "attempt": {typ: "int64"}, "requestId": {typ: "string"},
		"createdAt": {typ: "time.Time"}, "expireAt": {typ: "time.Time"},
		"leaseUntil":  {typ: "time.Time", optional: true},
		"completedAt": {typ: "time.Time", optional: true},
		"response":    {typ: "map[string]interface {}", optional: true},
	}
	storedResponseFields = map[string]storedField{
		"status": {typ: "int64"},
		"header": {typ: "map[string]interface {}", optional: true},
		"body":   {typ: "[]uint8", optional: true},
	}
)

// checkStored reports how doc, a stored document or its response, differs
// from the format fields describe ("" when it does not).
func checkStored(doc map[string]any, fields map[string]storedField) string {
	for name, v := range doc {
		f, ok := fields[name]
		if !ok {
			return fmt.Sprintf("unknown field %q", name)
		}
		if got := fmt.Sprintf("%T", v); got != f.typ {
			return fmt.Sprintf("field %q is a %s, want %s", name, got, f.typ)
		}
	}
	for name, f := range fields {
		if _, ok := doc[name]; !ok && !f.optional {
			return fmt.Sprintf("field %q is missing", name)
		}
	}
	return ""
}

type harness struct {
	t     *testing.T
	store *idempotency.Store
	col   *firestore.CollectionRef // the store's records, read and planted directly
	srv   *httptest.Server
	db    *pg.DB
	pg    testenv.PGInfo
	iam   *authtest.Issuer
	gate  *gate.Gate
	calls atomic.Int64
	mu    sync.Mutex
	h     gate.Handler // what the wrapped handler does; set with handle
	seen  map[string]bool
}

const thingsPath = "/v1/things"

// harnessTimeout bounds each Firestore call in these tests: bursts of
// concurrent requests on a loaded machine make the emulator slower than the
// production 3 s (the dev server raises it to 15 s for the same reason).
const harnessTimeout = 15 * time.Second

func newHarness(t *testing.T, opts idempotency.Options) *harness {
	t.Helper()
	testenv.FirestoreHost(t)
	ctx := context.Background()
	project := testenv.ProjectID(t)
	if opts.Timeout == 0 {
		opts.Timeout = harnessTimeout
	}
	store, err := idempotency.NewStore(ctx, project, opts)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return newHarnessWith(t, project, store)
}

// newHarnessWith serves store, whose records live in project.
func newHarnessWith(t *testing.T, project string, store *idempotency.Store) *harness {
	t.Helper()
	testenv.FirestoreHost(t)
	ctx := context.Background()
	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		t.Fatalf("firestore client: %v", err)
	}
	t.Cleanup(func() { _ = fs.Close() })
	db, info := testenv.Postgres(t)
	iam := authtest.New(t)
	ledger := activity.NewLedger(db, activity.Options{})
	t.Cleanup(ledger.Close)
	pubProject := testenv.PubsubProject(t)
	if err := pubsubevents.EnsureTopics(ctx, pubProject, events.SessionOpened); err != nil {
		t.Fatal(err)
	}
	pub, err := pubsubevents.NewPublisher(ctx, pubProject, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })

	hs := &harness{t: t, store: store, col: fs.Collection(idempotency.Collection), db: db, pg: info, iam: iam, seen: map[string]bool{}}
	hs.handle(created)
	log := logtest.TestLogger(t)
	g := &gate.Gate{
		Verifier:  iam.Verifier(t),
		Sessions:  session.NewManager(testenv.Redis(t), sessiontest.NewFrontDesk(), session.Options{PIIKey: sessiontest.PIIKey}),
		Ledger:    ledger,
		Publisher: pub,
		Log:       log,
	}
	inner := func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		hs.calls.Add(1)
		c.Note = activity.Note{Category: activity.CategoryMutationProxy, Action: "thing.created"}
		hs.mu.Lock()
		h := hs.h
		hs.mu.Unlock()
		return h(ctx, c)
	}
	hs.gate = g
	mux := http.NewServeMux()
	mux.Handle("POST "+thingsPath, g.Handle(Wrap(store, inner)))
	mux.Handle("POST /v1/other", g.Handle(Wrap(store, inner)))
	mux.Handle("POST /plain", g.Handle(inner))
	hs.srv = httptest.NewServer(httpx.Wrap(log, mux))
	t.Cleanup(hs.srv.Close)
	return hs
}

// rows counts the committed activity rows of every tenant the harness has
// sent requests for, by "action/outcome", read as the app role.
func (hs *harness) rows() map[string]int {
	hs.t.Helper()
	hs.mu.Lock()
	tenants := make([]string, 0, len(hs.seen))
	for tn := range hs.seen {
		tenants = append(tenants, tn)
	}
	hs.mu.Unlock()
	out := map[string]int{}
	for _, tn := range tenants {
		err := hs.db.InTenantTx(context.Background(), tn, func(ctx context.Context, tx pgx.Tx) error {
			rs, err := tx.Query(ctx, `SELECT action || '/' || outcome FROM bff.operator_activity WHERE tenant_id = $1`, tn)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var k string
				if err := rs.Scan(&k); err != nil {
					return err
				}
				out[k]++
			}
			return rs.Err()
		})
		if err != nil {
			hs.t.Fatalf("read ledger: %v", err)
		}
	}
	return out
}

// count is the number of committed activity rows for "action/outcome".
func (hs *harness) count(key string) int { return hs.rows()[key] }

func (hs *harness) handle(h gate.Handler) {
	hs.mu.Lock()
	hs.h = h
	hs.mu.Unlock()
}

// created answers like a typical mutation: 201, Location, a JSON body the
// handler decoded from the request (so the body really reaches it), with
// characters the encoder escapes.
func created(_ context.Context, c *gate.Call) (gate.Result, error) {
	var in struct {
		Name  string          `json:"name"`
		Extra json.RawMessage `json:"extra"`
	}
	if err := httpx.DecodeJSON(nopWriter{}, c.Request, &in); err != nil {
		return gate.Result{}, err
	}
	h := http.Header{}
	h.Set("Location", thingsPath+"/thing-1")
	h.Add("X-Thing-Tag", "a")
	h.Add("X-Thing-Tag", "b")
	return gate.Result{Status: http.StatusCreated, Header: h, Body: map[string]any{
		"id": "thing-1", "name": in.Name, "html": "<b>&</b>", "amount": 12.5, "at": time.Now().UnixNano(),
	}}, nil
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

type who struct{ tenant, operator, device string }

func newWho() who {
	return who{ids.New(ids.Tenant), ids.New(ids.Operator), ids.New(ids.Device)}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) problemCode() string {
	var p struct{ Code string }
	_ = json.Unmarshal(r.body, &p)
	return p.Code
}

func (r reply) replayed() bool { return r.header.Get(idempotency.ReplayedHeader) == "true" }

// post sends a POST; keys == nil sends no Idempotency-Key.
func (hs *harness) post(w who, path string, body string, keys ...string) reply {
	hs.t.Helper()
	return hs.postTo(hs.srv.URL, w, path, body, keys...)
}

// postTo is post to the server at base.
func (hs *harness) postTo(base string, w who, path string, body string, keys ...string) reply {
	hs.t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		hs.t.Fatalf("new request: %v", err)
	}
	hs.mu.Lock()
	hs.seen[w.tenant] = true
	hs.mu.Unlock()
	req.Header.Set("Authorization", hs.iam.Token(hs.t, w.tenant, w.operator, w.device))
	req.Header.Set("Content-Type", "application/json")
	for _, k := range keys {
		req.Header.Add(idempotency.KeyHeader, k)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		hs.t.Errorf("POST %s: %v", path, err)
		return reply{}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		hs.t.Errorf("read body: %v", err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: b}
}

// concurrently sends n copies of one request at once.
func (hs *harness) concurrently(n int, w who, body, key string) []reply {
	out := make([]reply, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			out[i] = hs.post(w, thingsPath, body, key)
		})
	}
	start.Done()
	done.Wait()
	return out
}

// sameResponse fails unless got is want replayed: same status, body bytes
// and stored headers.
func sameResponse(t *testing.T, want, got reply) {
	t.Helper()
	if got.status != want.status {
		t.Fatalf("status = %d, want %d (body %s)", got.status, want.status, got.body)
	}
	if !bytes.Equal(got.body, want.body) {
		t.Fatalf("body differs:\n got %q\nwant %q", got.body, want.body)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Location", "Retry-After", "Cache-Control"} {
		if g, w := got.header.Values(h), want.header.Values(h); strings.Join(g, "|") != strings.Join(w, "|") {
			t.Fatalf("header %s = %q, want %q", h, g, w)
		}
	}
	if g, w := strings.Join(got.header.Values("X-Thing-Tag"), "|"), strings.Join(want.header.Values("X-Thing-Tag"), "|"); g != w {
		t.Fatalf("X-Thing-Tag = %q, want %q", g, w)
	}
	if !got.replayed() {
		t.Fatalf("%s missing on a replay", idempotency.ReplayedHeader)
	}
}

func wantProblem(t *testing.T, r reply, status int, code apperr.Code) {
	t.Helper()
	if r.status != status || r.problemCode() != string(code) {
		t.Fatalf("got %d %s, want %d %s (body %s)", r.status, r.problemCode(), status, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
}

// wantCreated fails unless r, the answer named what, is a 201, run or
// replayed; it returns r.
func wantCreated(t *testing.T, what string, r reply) reply {
	t.Helper()
	if r.status != http.StatusCreated {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	return r
}

// wantFresh fails unless r, the answer named what, is a 201 the handler
// ran for it, not a replay; it returns r.
func wantFresh(t *testing.T, what string, r reply) reply {
	t.Helper()
	if r.status != http.StatusCreated || r.replayed() {
		t.Fatalf("%s: %d replayed=%v %s, want a fresh run", what, r.status, r.replayed(), r.body)
	}
	return r
}

// held makes the handler wait, sends w's request with key in the
// background and returns once the handler runs it; finish lets the
// handler go on and returns the request's answer.
func (hs *harness) held(w who, key string) (finish func() reply) {
	entered, release := make(chan struct{}), make(chan struct{})
	hs.handle(func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		close(entered)
		<-release
		return created(ctx, c)
	})
	firstc := make(chan reply, 1)
	go func() { firstc <- hs.post(w, thingsPath, body1, key) }()
	<-entered
	return func() reply {
		close(release)
		return <-firstc
	}
}

// wantReplays sends n copies of w's request with key at once and fails
// unless each is first replayed and the handler ran only once in all.
func (hs *harness) wantReplays(n int, w who, body, key string, first reply) {
	hs.t.Helper()
	for _, r := range hs.concurrently(n, w, body, key) {
		sameResponse(hs.t, first, r)
	}
	hs.wantCalls(1)
}

func (hs *harness) wantCalls(n int64) {
	hs.t.Helper()
	if got := hs.calls.Load(); got != n {
		hs.t.Fatalf("handler ran %d times, want %d", got, n)
	}
}

func (hs *harness) doc(w who, key string) *firestore.DocumentRef {
	hs.t.Helper()
	id, err := idempotency.DocID(w.tenant, w.device, key)
	if err != nil {
		hs.t.Fatal(err)
	}
	return hs.col.Doc(id)
}

func (hs *harness) read(w who, key string) (idempotency.StoredRecord, bool) {
	hs.t.Helper()
	snap, err := hs.doc(w, key).Get(context.Background())
	if status.Code(err) == codes.NotFound {
		return idempotency.StoredRecord{}, false
	}
	if err != nil {
		hs.t.Fatalf("read record: %v", err)
	}
	doc := snap.Data()
	if diff := checkStored(doc, storedFields); diff != "" {
		hs.t.Fatalf("stored record: %s: %v", diff, doc)
	}
	if resp, ok := doc["response"].(map[string]any); ok {
		if diff := checkStored(resp, storedResponseFields); diff != "" {
			hs.t.Fatalf("stored response: %s: %v", diff, resp)
		}
	}
	var r idempotency.StoredRecord
	if err := snap.DataTo(&r); err != nil {
		hs.t.Fatalf("decode record: %v", err)
	}
	return r, true
}

// plant writes a record as another instance would have left it.
func (hs *harness) plant(w who, key string, r idempotency.StoredRecord) {
	hs.t.Helper()
	if _, err := hs.doc(w, key).Create(context.Background(), r); err != nil {
		hs.t.Fatalf("plant record: %v", err)
	}
}

func fingerprintOf(w who, path, body string) string {
	return idempotency.Fingerprint(w.operator, http.MethodPost, &url.URL{Path: path}, []byte(body))
}

const body1 = `{"name":"Amara","extra":{"b":2,"a":[1,"x"]}}`

func TestFirstRunThenReplays(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()

	first := wantFresh(t, "first", hs.post(w, thingsPath, body1, "key-1"))
	plain := hs.post(w, "/plain", body1)
	// The wrapper is transparent: same headers and encoding as the bare
	// handler (the bodies differ only by the timestamp in them).
	if first.header.Get("Content-Type") != plain.header.Get("Content-Type") ||
		first.header.Get("Location") != plain.header.Get("Location") ||
		!bytes.HasSuffix(first.body, []byte("}\n")) || !bytes.Contains(first.body, []byte(`\u003cb\u003e\u0026\u003c/b\u003e`)) {
		t.Fatalf("wrapped answer %v %q differs in shape from the bare one %v %q", first.header, first.body, plain.header, plain.body)
	}
	hs.wantCalls(2)

	for i := range 10 {
		r := hs.post(w, thingsPath, body1, "key-1")
		sameResponse(t, first, r)
		if i == 0 && r.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
			t.Fatal("a replay must carry its own X-Request-Id")
		}
	}
	// Another serialisation of the same JSON is the same request.
	sameResponse(t, first, hs.post(w, thingsPath, "{ \"extra\" : {\"a\":[1, \"\\u0078\"],\"b\":2},\n \"name\":\"Amara\" }", "key-1"))
	hs.wantCalls(2)
	if n := hs.count("thing.created/success"); n != 2 {
		t.Fatalf("activity rows = %d, want 2 (the wrapped run and the bare one; replays record none)", n)
	}

	r, ok := hs.read(w, "key-1")
	if !ok || r.State != stateCompleted || r.Attempt != 1 || r.Response == nil || r.Key != "key-1" ||
		r.TenantID != w.tenant || r.DeviceID != w.device || r.Path != thingsPath || !r.LeaseUntil.IsZero() ||
		r.RequestID != first.header.Get("X-Request-Id") {
		t.Fatalf("record = %+v", r)
	}
	if d := r.ExpireAt.Sub(r.CreatedAt); d != idempotency.DefaultRetention {
		t.Fatalf("expireAt - createdAt = %s, want %s", d, idempotency.DefaultRetention)
	}
}

func TestStoredErrorReplaysWithOriginalRequestID(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	hs.handle(func(context.Context, *gate.Call) (gate.Result, error) {
		return gate.Result{}, apperr.New(apperr.DecisionAlreadyRecorded, "suggestion aim_X already has a decision")
	})
	w := newWho()
	first := hs.post(w, thingsPath, body1, "k")
	wantProblem(t, first, http.StatusConflict, apperr.DecisionAlreadyRecorded)
	var p httpx.Problem
	if err := json.Unmarshal(first.body, &p); err != nil || p.RequestID != first.header.Get("X-Request-Id") {
		t.Fatalf("problem %+v (err %v), want requestId %s", p, err, first.header.Get("X-Request-Id"))
	}
	for range 3 {
		r := hs.post(w, thingsPath, body1, "k")
		sameResponse(t, first, r)
		if r.header.Get("X-Request-Id") == p.RequestID {
			t.Fatal("the replay's X-Request-Id should be its own")
		}
	}
	hs.wantCalls(1)
	// The run that executed is recorded as the failure it was.
	if n := hs.count("thing.created/failure"); n != 1 {
		t.Fatalf("failure rows = %d, want 1", n)
	}
}

func TestConcurrentRetriesWhileInFlight(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	finish := hs.held(w, "same")

	for i, r := range hs.concurrently(9, w, body1, "same") {
		wantProblem(t, r, http.StatusConflict, apperr.IdempotencyInFlight)
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 30 {
			t.Fatalf("reply %d: Retry-After = %q", i, r.header.Get("Retry-After"))
		}
	}
	first := wantCreated(t, "first", finish())
	hs.wantReplays(10, w, body1, "same", first)
}

func TestConcurrentFirstRequestsRunOnce(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	replies := hs.concurrently(10, w, body1, "burst")
	hs.wantCalls(1)

	var first reply
	fresh := 0
	for _, r := range replies {
		if r.status == http.StatusCreated && !r.replayed() {
			first = r
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d fresh answers, want 1: %+v", fresh, replies)
	}
	for _, r := range replies {
		switch {
		case r.status == http.StatusConflict:
			wantProblem(t, r, http.StatusConflict, apperr.IdempotencyInFlight)
		case r.replayed():
			sameResponse(t, first, r)
		case r.status != http.StatusCreated:
			t.Fatalf("unexpected answer %d %s", r.status, r.body)
		}
	}
	hs.wantReplays(10, w, body1, "burst", first)
}

func TestKeyScopeAndReuse(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	first := wantCreated(t, "first", hs.post(w, thingsPath, body1, "k1"))

	sameOperatorOtherRequest := []struct {
		name string
		w    who
		path string
		body string
	}{
		{"other body", w, thingsPath, `{"name":"Bongani"}`},
		{"other path", w, "/v1/other", body1},
		{"other operator on the device", who{w.tenant, ids.New(ids.Operator), w.device}, thingsPath, body1},
	}
	for _, tc := range sameOperatorOtherRequest {
		wantProblem(t, hs.post(tc.w, tc.path, tc.body, "k1"), http.StatusUnprocessableEntity, apperr.IdempotencyKeyReused)
	}
	hs.wantCalls(1)

	// The key is per (tenant, device): elsewhere it is a new record.
	otherDevice := who{w.tenant, w.operator, ids.New(ids.Device)}
	otherTenant := who{ids.New(ids.Tenant), w.operator, w.device}
	for _, o := range []who{otherDevice, otherTenant} {
		wantFresh(t, fmt.Sprintf("%+v", o), hs.post(o, thingsPath, body1, "k1"))
	}
	hs.wantCalls(3)
	sameResponse(t, first, hs.post(w, thingsPath, body1, "k1"))
}

func TestKeyValidation(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	cases := []struct {
		name string
		keys []string
		code apperr.Code
	}{
		{"missing", nil, apperr.IdempotencyKeyRequired},
		{"empty", []string{""}, apperr.IdempotencyKeyRequired},
		{"too long", []string{strings.Repeat("k", idempotency.MaxKeyLength+1)}, apperr.ValidationFailed},
		{"not ASCII", []string{"clé-1"}, apperr.ValidationFailed},
		{"control character", []string{"a\tb"}, apperr.ValidationFailed},
		{"twice", []string{"a", "b"}, apperr.ValidationFailed},
	}
	for _, tc := range cases {
		r := hs.post(w, thingsPath, body1, tc.keys...)
		wantProblem(t, r, http.StatusBadRequest, tc.code)
	}
	hs.wantCalls(0)
	wantCreated(t, fmt.Sprintf("a %d-character key", idempotency.MaxKeyLength), hs.post(w, thingsPath, body1, strings.Repeat("k", idempotency.MaxKeyLength)))
	big := `{"name":"` + strings.Repeat("x", httpx.MaxBody) + `"}`
	wantProblem(t, hs.post(w, thingsPath, big, "big"), http.StatusRequestEntityTooLarge, apperr.PayloadTooLarge)
	if _, ok := hs.read(w, "big"); ok {
		t.Fatal("an oversized request left a record")
	}
	hs.wantCalls(1)
}

func TestExpiredLeaseIsTakenOverOnce(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	createdAt := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	hs.plant(w, "crashed", idempotency.StoredRecord{
		TenantID: w.tenant, DeviceID: w.device, OperatorID: w.operator, Key: "crashed",
		Fingerprint: fingerprintOf(w, thingsPath, body1), Method: http.MethodPost, Path: thingsPath,
		State: stateInFlight, Owner: "dead-instance", Attempt: 1, RequestID: "req_dead",
		CreatedAt: createdAt, ExpireAt: createdAt.Add(idempotency.DefaultRetention), LeaseUntil: time.Now().Add(-time.Second),
	})

	replies := hs.concurrently(5, w, body1, "crashed")
	hs.wantCalls(1)
	fresh := 0
	for _, r := range replies {
		switch {
		case r.status == http.StatusCreated && !r.replayed():
			fresh++
		case r.status == http.StatusConflict:
			wantProblem(t, r, http.StatusConflict, apperr.IdempotencyInFlight)
		case !r.replayed():
			t.Fatalf("unexpected answer %d %s", r.status, r.body)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d fresh answers, want 1", fresh)
	}
	r, _ := hs.read(w, "crashed")
	if r.State != stateCompleted || r.Attempt != 2 || !r.CreatedAt.Equal(createdAt) || !r.ExpireAt.Equal(createdAt.Add(idempotency.DefaultRetention)) {
		t.Fatalf("record after takeover = %+v", r)
	}
	if got := hs.post(w, thingsPath, body1, "crashed"); !got.replayed() {
		t.Fatalf("after the takeover: %d replayed=%v", got.status, got.replayed())
	}
	hs.wantCalls(1)
}

func TestValidLeaseIsNotTakenOver(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	now := time.Now()
	hs.plant(w, "busy", idempotency.StoredRecord{
		TenantID: w.tenant, DeviceID: w.device, OperatorID: w.operator, Key: "busy",
		Fingerprint: fingerprintOf(w, thingsPath, body1), Method: http.MethodPost, Path: thingsPath,
		State: stateInFlight, Owner: "live-instance", Attempt: 1,
		CreatedAt: now, ExpireAt: now.Add(idempotency.DefaultRetention), LeaseUntil: now.Add(20 * time.Second),
	})
	r := hs.post(w, thingsPath, body1, "busy")
	wantProblem(t, r, http.StatusConflict, apperr.IdempotencyInFlight)
	if s, _ := strconv.Atoi(r.header.Get("Retry-After")); s < 1 || s > 20 {
		t.Fatalf("Retry-After = %q, want the lease's remaining seconds", r.header.Get("Retry-After"))
	}
	hs.wantCalls(0)
}

func TestExpiredRecordIsAbsent(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	old := time.Now().Add(-8 * 24 * time.Hour)
	hs.plant(w, "old", idempotency.StoredRecord{
		TenantID: w.tenant, DeviceID: w.device, OperatorID: w.operator, Key: "old",
		Fingerprint: "another request, a week ago", Method: http.MethodPost, Path: "/v1/other",
		State: stateCompleted, Owner: "x", Attempt: 3, CreatedAt: old, ExpireAt: old.Add(idempotency.DefaultRetention),
		CompletedAt: old, Response: &idempotency.StoredResponse{Status: http.StatusTeapot, Body: []byte("stale\n")},
	})
	r := wantFresh(t, "expired record", hs.post(w, thingsPath, body1, "old"))
	hs.wantCalls(1)
	rec, _ := hs.read(w, "old")
	if rec.Attempt != 1 || rec.Path != thingsPath || rec.Response == nil || rec.Response.Status != http.StatusCreated ||
		!rec.ExpireAt.After(time.Now().Add(idempotency.DefaultRetention-time.Hour)) {
		t.Fatalf("record = %+v", rec)
	}
	sameResponse(t, r, hs.post(w, thingsPath, body1, "old"))
	hs.wantCalls(1)
}

func TestTransientAnswersReleaseTheKey(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	cases := []struct {
		name   string
		err    error
		status int
	}{
		{"upstream unavailable", apperr.Unavailable(errors.New("lock-service down"), "lock-service"), http.StatusServiceUnavailable},
		{"internal", errors.New("boom"), http.StatusInternalServerError},
		{"rate limited", apperr.New(apperr.RateLimited, "slow down"), http.StatusTooManyRequests},
		{"mfa required", apperr.New(apperr.MFARequired, "step up"), http.StatusForbidden},
	}
	for _, tc := range cases {
		w := newWho()
		start := hs.calls.Load()
		hs.handle(func(context.Context, *gate.Call) (gate.Result, error) { return gate.Result{}, tc.err })
		if r := hs.post(w, thingsPath, body1, "k"); r.status != tc.status {
			t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
		}
		if _, ok := hs.read(w, "k"); ok {
			t.Fatalf("%s: the key was not released", tc.name)
		}
		hs.handle(created)
		first := wantFresh(t, tc.name+": retry", hs.post(w, thingsPath, body1, "k"))
		sameResponse(t, first, hs.post(w, thingsPath, body1, "k"))
		if got := hs.calls.Load() - start; got != 2 {
			t.Fatalf("%s: handler ran %d times, want 2", tc.name, got)
		}
	}
}

func TestResponseWithoutBody(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	hs.handle(func(context.Context, *gate.Call) (gate.Result, error) {
		return gate.Result{Status: http.StatusNoContent}, nil
	})
	w := newWho()
	first := hs.post(w, thingsPath, "", "nobody")
	if first.status != http.StatusNoContent || len(first.body) != 0 {
		t.Fatalf("first: %d %q", first.status, first.body)
	}
	sameResponse(t, first, hs.post(w, thingsPath, "", "nobody"))
	hs.wantCalls(1)
}

func TestLeaseIsRenewedWhileTheHandlerRuns(t *testing.T) {
	t.Parallel()
	const lease = 2 * time.Second
	hs := newHarness(t, idempotency.Options{Lease: lease})
	w := newWho()
	finish := hs.held(w, "slow")
	rec, _ := hs.read(w, "slow")
	firstLease := rec.LeaseUntil
	// Wait out the first lease: without renewals a retry would take over.
	for time.Now().Before(firstLease.Add(200 * time.Millisecond)) {
		time.Sleep(50 * time.Millisecond)
	}
	if rec, _ = hs.read(w, "slow"); !rec.LeaseUntil.After(firstLease) {
		t.Fatalf("lease not renewed: %s, first %s", rec.LeaseUntil, firstLease)
	}
	wantProblem(t, hs.post(w, thingsPath, body1, "slow"), http.StatusConflict, apperr.IdempotencyInFlight)
	first := wantCreated(t, "first", finish())
	sameResponse(t, first, hs.post(w, thingsPath, body1, "slow"))
	hs.wantCalls(1)
}

func TestFirestoreUnreachable(t *testing.T) {
	t.Parallel()
	conn, err := grpc.NewClient(testenv.ClosedAddr(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	project := testenv.ProjectID(t)
	store, err := idempotency.NewStore(context.Background(), project, idempotency.Options{
		Timeout:       300 * time.Millisecond,
		ClientOptions: []option.ClientOption{option.WithGRPCConn(conn), option.WithoutAuthentication()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	hs := newHarnessWith(t, project, store)
	r := hs.post(newWho(), thingsPath, body1, "k")
	wantProblem(t, r, http.StatusServiceUnavailable, apperr.UpstreamUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	hs.wantCalls(0)
}

func TestPanickingHandlerLeavesALapsingLease(t *testing.T) {
	t.Parallel()
	const lease = time.Second
	hs := newHarness(t, idempotency.Options{Lease: lease})
	hs.handle(func(context.Context, *gate.Call) (gate.Result, error) { panic("handler bug") })
	w := newWho()
	wantProblem(t, hs.post(w, thingsPath, body1, "p"), http.StatusInternalServerError, apperr.Internal)
	rec, ok := hs.read(w, "p")
	if !ok || rec.State != stateInFlight {
		t.Fatalf("record after a panic = %+v (found %v), want in_flight like a crash", rec, ok)
	}
	// Wait past the lease and a few renewal periods: nothing may renew it.
	for time.Now().Before(rec.LeaseUntil.Add(lease / 2)) {
		time.Sleep(50 * time.Millisecond)
	}
	if again, _ := hs.read(w, "p"); !again.LeaseUntil.Equal(rec.LeaseUntil) {
		t.Fatalf("lease renewed after the handler panicked: %s, was %s", again.LeaseUntil, rec.LeaseUntil)
	}
	hs.handle(created)
	wantFresh(t, "retry after the lease", hs.post(w, thingsPath, body1, "p"))
	hs.wantCalls(2)
}

// The activity ledger refusing rows while the handler runs (after the key
// is claimed) leaves nothing half-recorded: the client gets a 5xx, no
// answer is stored, no row is committed, and the key is released, so the
// retry runs the handler and records it once.
func TestLedgerFailingMidRequestReleasesTheKey(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, idempotency.Options{})
	w := newWho()
	// A first request opens the session, so only the action's row is at
	// stake below.
	wantCreated(t, "warm-up", hs.post(w, thingsPath, body1, "warm-up"))
	before := hs.rows()

	admin, err := pgx.Connect(context.Background(), hs.pg.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	grant := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	hs.handle(func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		grant(`REVOKE INSERT ON bff.operator_activity FROM bff_app`)
		return created(ctx, c)
	})
	r := hs.post(w, thingsPath, body1, "k")
	if r.status < 500 || r.replayed() {
		t.Fatalf("with the ledger refusing: %d replayed=%v %s, want a 5xx", r.status, r.replayed(), r.body)
	}
	if rec, ok := hs.read(w, "k"); ok {
		t.Fatalf("a record was left for a request whose row was not committed: %+v", rec)
	}
	if got := hs.rows(); !maps.Equal(got, before) {
		t.Fatalf("rows = %v, want %v (nothing committed)", got, before)
	}

	grant(`GRANT INSERT ON bff.operator_activity TO bff_app`)
	hs.handle(created)
	first := wantFresh(t, "retry", hs.post(w, thingsPath, body1, "k"))
	sameResponse(t, first, hs.post(w, thingsPath, body1, "k"))
	hs.wantCalls(3)
	if n, m := hs.count("thing.created/success"), before["thing.created/success"]; n != m+1 {
		t.Fatalf("success rows = %d, want %d (the warm-up and the retry)", n, m+1)
	}
}

// A key taken over while its owner's handler still ran (the owner looked
// dead: its renewals failed, or the handler outlived the lease), with the
// owner finishing after the taker: the taker's record stands, the owner's
// late answer is not written over it, and every later copy replays the
// taker's answer.
func TestOwnerFinishingAfterATakeoverLeavesTheTakersRecord(t *testing.T) {
	t.Parallel()
	// The default 30 s lease: no renewal runs during the test.
	hs := newHarness(t, idempotency.Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int64
	hs.handle(func(_ context.Context, c *gate.Call) (gate.Result, error) {
		n := runs.Add(1)
		if n == 1 {
			close(entered)
			<-release
		}
		return gate.Result{Status: http.StatusCreated, Body: map[string]any{"run": n}}, nil
	})
	w := newWho()
	ownerc := make(chan reply, 1)
	go func() { ownerc <- hs.post(w, thingsPath, body1, "raced") }()
	<-entered

	// The owner's lease lapses, as when its renewals fail.
	if _, err := hs.doc(w, "raced").Update(context.Background(), []firestore.Update{{Path: "leaseUntil", Value: time.Now().Add(-time.Second)}}); err != nil {
		t.Fatal(err)
	}
	taker := hs.post(w, thingsPath, body1, "raced")
	if taker.status != http.StatusCreated || taker.replayed() || !bytes.Contains(taker.body, []byte(`"run":2`)) {
		t.Fatalf("taker: %d replayed=%v %s, want the second run's answer", taker.status, taker.replayed(), taker.body)
	}
	close(release)
	owner := <-ownerc
	if owner.status != http.StatusCreated || !bytes.Contains(owner.body, []byte(`"run":1`)) {
		t.Fatalf("owner: %d %s, want its own run's answer", owner.status, owner.body)
	}

	rec, ok := hs.read(w, "raced")
	if !ok || rec.State != stateCompleted || rec.Attempt != 2 || rec.Response == nil || !bytes.Equal(rec.Response.Body, taker.body) {
		t.Fatalf("record = %+v, want the taker's completed attempt 2 with its body %s", rec, taker.body)
	}
	for range 3 {
		sameResponse(t, taker, hs.post(w, thingsPath, body1, "raced"))
	}
	hs.wantCalls(2)
	if n := hs.count("thing.created/success"); n != 2 {
		t.Fatalf("success rows = %d, want 2 (both runs happened)", n)
	}
}
