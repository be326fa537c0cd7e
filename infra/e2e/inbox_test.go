package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
)

type suggestionList struct {
	PropertyID string                  `json:"propertyId"`
	Items      []inbox.SuggestionEntry `json:"items"`
	NextCursor string                  `json:"nextCursor"`
}

type alertList struct {
	PropertyID string             `json:"propertyId"`
	Items      []inbox.AlertEntry `json:"items"`
	NextCursor string             `json:"nextCursor"`
}

// answer is a response read outside the test goroutine (no t.Fatal there).
type answer struct {
	status  int
	body    string
	code    string
	replay  string
	err     error
	rawBody []byte
}

// post sends a mutating request from any goroutine; exchange checks it
// and its answer against openapi.yaml.
func (e *env) post(path, token, key, body string) answer {
	return e.postTo(e.srv.BaseURL, path, token, key, body)
}

// postTo is post to another server (a function served on its own).
func (e *env) postTo(baseURL, path, token, key, body string) answer {
	req, err := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, b, err := exchange(e.t, e.spec, e.client, req)
	if err != nil {
		return answer{err: err}
	}
	a := answer{status: res.StatusCode, body: string(b), rawBody: b, replay: res.Header.Get("Idempotent-Replayed")}
	var p struct {
		Code string `json:"code"`
	}
	if res.Header.Get("Content-Type") == "application/problem+json" {
		_ = json.Unmarshal(b, &p)
		a.code = p.Code
	}
	return a
}

// send is post as the desktop's offline outbox sends: a 503 (an
// overloaded emulator or upstream, on a busy CI machine) is retried with the
// same key and body, as the client would, so what is asserted is the
// outcome the operator ends up with.
func (e *env) send(path, token, key, body string) answer {
	var a answer
	for try := range 10 {
		if a = e.post(path, token, key, body); a.err != nil || a.status != http.StatusServiceUnavailable {
			return a
		}
		time.Sleep(time.Duration(50*(try+1)) * time.Millisecond)
	}
	return a
}

// burst sends n requests at once and returns their answers in order.
func burst(n int, send func(i int) answer) []answer {
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = send(i)
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// counts tallies answers by "status code"; a transport or contract error
// fails the test.
func counts(t *testing.T, answers []answer) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, a := range answers {
		if a.err != nil {
			t.Fatal(a.err)
		}
		out[fmt.Sprintf("%d %s", a.status, a.code)]++
		if a.status >= 500 {
			t.Logf("%s", a.body)
		}
	}
	return out
}

// openSuggestion lists the property's open suggestions as tok and returns
// the first.
func (e *env) openSuggestion(tok, propertyID string) inbox.SuggestionEntry {
	e.t.Helper()
	r := e.do("GET", "/v1/ai/suggestions?propertyId="+propertyID, tok, "")
	if r.StatusCode != 200 {
		e.t.Fatalf("list = %d %s", r.StatusCode, r.body)
	}
	var l suggestionList
	r.json(e.t, &l)
	if len(l.Items) == 0 {
		e.t.Fatal("no open suggestion in the demo inbox")
	}
	return l.Items[0]
}

// countRows counts rows of a tenant's table as the app role sees them.
func (e *env) countRows(tenantID, query string, args ...any) int {
	e.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pg.AppURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tenantID); err != nil {
		e.t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestAIInboxShowsOnlyProvenancedSuggestions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A manager: the role that sees every category.
	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	prop := op.PropertyScope[0]

	r := e.do("GET", "/v1/ai/suggestions?status=all&propertyId="+prop, tok, "")
	if r.StatusCode != 200 {
		t.Fatalf("list = %d %s", r.StatusCode, r.body)
	}
	var all suggestionList
	r.json(t, &all)
	sn, err := e.srv.Fleet.Ops.Snapshot(tn.ID, prop)
	if err != nil {
		t.Fatal(err)
	}
	upstream := sn.Suggestions(true).Items
	withProvenance := 0
	for _, s := range upstream {
		if s.Provenance != nil {
			withProvenance++
		}
	}
	if withProvenance == len(upstream) || withProvenance == 0 {
		t.Fatalf("demo data has %d of %d suggestions with provenance; the test needs both kinds", withProvenance, len(upstream))
	}
	if len(all.Items) != withProvenance {
		t.Fatalf("listed %d suggestions, want the %d with provenance", len(all.Items), withProvenance)
	}
	seen := map[string]bool{}
	for _, it := range all.Items {
		if it.Provenance == nil || it.Provenance.SignatureFingerprint == "" {
			t.Fatalf("entry without provenance listed: %+v", it)
		}
		if seen[it.ID] || !ids.Valid(ids.AISuggestion, it.ID) {
			t.Fatalf("entry id %q repeated or malformed", it.ID)
		}
		seen[it.ID] = true
	}
	// The entry ids are stable: a second listing (from the mirror) agrees.
	r = e.do("GET", "/v1/ai/suggestions?status=all&propertyId="+prop, tok, "")
	var again suggestionList
	r.json(t, &again)
	for i := range again.Items {
		if again.Items[i].ID != all.Items[i].ID {
			t.Fatalf("ids moved between listings: %s vs %s", again.Items[i].ID, all.Items[i].ID)
		}
	}
	if r := e.do("GET", "/v1/ai/suggestions?status=pending", tok, ""); r.StatusCode != 400 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("bad status = %d %s", r.StatusCode, r.body)
	}
	if r := e.do("GET", "/v1/ai/suggestions?propertyId="+tenantOther(e, tn), tok, ""); r.StatusCode != 403 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE" {
		t.Fatalf("other tenant's property = %d %s", r.StatusCode, r.body)
	}
}

// tenantOther is a property of another demo tenant.
func tenantOther(e *env, tn demo.Tenant) string {
	for _, other := range e.srv.Demo.Tenants {
		if other.ID != tn.ID {
			return other.Properties[0].ID
		}
	}
	e.t.Fatal("the demo has one tenant")
	return ""
}

func TestConcurrentDecisionsExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	sg := e.openSuggestion(tok, op.PropertyScope[0])
	decided := e.pullSubscription(events.AISuggestionDecided)

	const n = 100
	got := counts(t, burst(n, func(i int) answer {
		outcome := []string{"accepted", "rejected"}[i%2]
		return e.send("/v1/ai/suggestions/"+sg.ID+"/decision", tok, fmt.Sprintf("k-%d", i), `{"outcome":"`+outcome+`"}`)
	}))
	want := map[string]int{"201 ": 1, "409 MELMASTOON.BFF.BACKOFFICE.DECISION_ALREADY_RECORDED": n - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answers = %v, want %v", got, want)
	}
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.ai_decision WHERE suggestion_id = $1`, sg.SuggestionID); got != 1 {
		t.Fatalf("decision rows = %d, want 1", got)
	}
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.operator_activity WHERE category = 'ai_decision' AND outcome = 'success'`); got != 1 {
		t.Fatalf("successful ai_decision activity rows = %d, want 1", got)
	}
	msgs := e.pull(decided, 1)
	if !strings.Contains(string(msgs[0].GetData()), sg.ID) {
		t.Fatalf("decided event = %s", msgs[0].GetData())
	}
	// No second event follows (the relay deleted its outbox row).
	if extra := e.pullFor(decided, 2*time.Second); len(extra) != 0 {
		t.Fatalf("%d more decided events, want exactly one", len(extra))
	}
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.outbox`); got != 0 {
		t.Fatalf("outbox holds %d rows after a healthy relay, want 0", got)
	}
	// Forwarded to ai-orchestrator-service, and the inbox shows it decided.
	if _, ok := e.srv.Fleet.AIOrchestrator.Decision(tn.ID, op.PropertyScope[0], sg.SuggestionID); !ok {
		t.Fatal("the decision was not forwarded to ai-orchestrator-service")
	}
	r := e.do("GET", "/v1/ai/suggestions?status=decided&propertyId="+op.PropertyScope[0], tok, "")
	var l suggestionList
	r.json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != sg.ID || l.Items[0].Decision == nil || l.Items[0].DecidedBy != op.ID {
		t.Fatalf("decided list = %s", r.body)
	}
}

func TestSameDecisionReplayedWithOneKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	sg := e.openSuggestion(tok, op.PropertyScope[0])
	path := "/v1/ai/suggestions/" + sg.ID + "/decision"
	body := `{"outcome":"modified","modifiedDelta":{"to":{"amount":"129.00","currency":"EUR"}},"notes":"` + strings.Repeat("é", 600) + `"}`

	answers := burst(10, func(int) answer { return e.send(path, tok, "offline-outbox-42", body) })
	var first []byte
	for _, a := range answers {
		if a.err != nil {
			t.Fatal(a.err)
		}
		switch {
		case a.status == 201:
			if first == nil {
				first = a.rawBody
			} else if string(first) != a.body {
				t.Fatalf("two 201 bodies differ:\n%s\n%s", first, a.body)
			}
		case a.status == 409 && a.code == "MELMASTOON.BFF.BACKOFFICE.IDEMPOTENCY_IN_FLIGHT":
		default:
			t.Fatalf("answer %d %s, want 201 or 409 IDEMPOTENCY_IN_FLIGHT", a.status, a.body)
		}
	}
	if first == nil {
		t.Fatal("no 201 among the answers")
	}
	// Once the first has finished, every retry gets its bytes.
	a := e.post(path, tok, "offline-outbox-42", body)
	if a.err != nil || a.status != 201 || a.body != string(first) || a.replay != "true" {
		t.Fatalf("replay = %d %q replayed=%q err=%v, want the first answer byte for byte", a.status, a.body, a.replay, a.err)
	}
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.ai_decision WHERE suggestion_id = $1`, sg.SuggestionID); got != 1 {
		t.Fatalf("decision rows = %d, want 1", got)
	}
	var entry inbox.SuggestionEntry
	if err := json.Unmarshal(first, &entry); err != nil {
		t.Fatal(err)
	}
	if entry.Decision == nil || len([]rune(entry.Decision.Notes)) != inbox.MaxNotes || string(entry.Decision.ModifiedDelta) == "" {
		t.Fatalf("decision = %+v, want notes cut to %d characters and the delta kept", entry.Decision, inbox.MaxNotes)
	}
	// Another body under the same key is refused; a new key is a new
	// decision, which is already recorded.
	if a := e.post(path, tok, "offline-outbox-42", `{"outcome":"rejected"}`); a.status != 422 || a.code != "MELMASTOON.BFF.BACKOFFICE.IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("other body = %d %s", a.status, a.body)
	}
	if a := e.post(path, tok, "offline-outbox-43", `{"outcome":"rejected"}`); a.status != 409 || a.code != "MELMASTOON.BFF.BACKOFFICE.DECISION_ALREADY_RECORDED" {
		t.Fatalf("second decision = %d %s", a.status, a.body)
	}
}

func TestDecisionRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	prop := op.PropertyScope[0]
	r := e.do("GET", "/v1/ai/suggestions?status=all&propertyId="+prop, tok, "")
	var l suggestionList
	r.json(t, &l)
	var open, expired inbox.SuggestionEntry
	for _, it := range l.Items {
		switch {
		case it.Status == inbox.StatusOpen && open.ID == "":
			open = it
		case it.Status == inbox.StatusExpired && expired.ID == "":
			expired = it
		}
	}
	if open.ID == "" || expired.ID == "" {
		t.Fatalf("demo inbox lacks an open or an expired suggestion: %s", r.body)
	}
	dec := func(id string) string { return "/v1/ai/suggestions/" + id + "/decision" }
	cases := []struct {
		name, path, key, body string
		status                int
		code                  string
	}{
		{"expired", dec(expired.ID), "r1", `{"outcome":"accepted"}`, 410, "SUGGESTION_EXPIRED"},
		{"unknown entry", dec(ids.New(ids.AISuggestion)), "r2", `{"outcome":"accepted"}`, 404, "NOT_FOUND"},
		{"malformed entry", dec("aim_nope"), "r3", `{"outcome":"accepted"}`, 400, "VALIDATION_FAILED"},
		{"no key", dec(open.ID), "", `{"outcome":"accepted"}`, 400, "IDEMPOTENCY_KEY_REQUIRED"},
		{"unknown outcome", dec(open.ID), "r4", `{"outcome":"maybe"}`, 400, "VALIDATION_FAILED"},
		{"modified without delta", dec(open.ID), "r5", `{"outcome":"modified"}`, 400, "VALIDATION_FAILED"},
		{"delta without modified", dec(open.ID), "r6", `{"outcome":"accepted","modifiedDelta":{"a":1}}`, 400, "VALIDATION_FAILED"},
		{"unknown field", dec(open.ID), "r7", `{"outcome":"accepted","by":"me"}`, 400, "VALIDATION_FAILED"},
		{"not json", dec(open.ID), "r8", `outcome=accepted`, 400, "VALIDATION_FAILED"},
	}
	for _, tc := range cases {
		a := e.post(tc.path, tok, tc.key, tc.body)
		if a.err != nil {
			t.Errorf("%s: %v", tc.name, a.err)
			continue
		}
		if a.status != tc.status || a.code != "MELMASTOON.BFF.BACKOFFICE."+tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, a.status, a.body, tc.status, tc.code)
		}
		if strings.Contains(a.body, "SELECT") || strings.Contains(a.body, "goroutine") {
			t.Errorf("%s: internals leaked: %s", tc.name, a.body)
		}
	}
	// None of the refusals decided anything: the open one can still be.
	if a := e.post(dec(open.ID), tok, "r9", `{"outcome":"rejected","notes":"not tonight"}`); a.status != 201 {
		t.Fatalf("decision after refusals = %d %s", a.status, a.body)
	}
	// Expired and decided: "already recorded" says what happened.
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.ai_decision`); got != 1 {
		t.Fatalf("decision rows = %d, want 1", got)
	}
}

func TestDecisionOutOfScopeProperty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// An operator of the tenant with two properties lists the second one;
	// a colleague whose scope lacks it may not decide there.
	var tn demo.Tenant
	var wide, narrow demo.Operator
	for _, t0 := range e.srv.Demo.Tenants {
		if len(t0.Properties) < 2 {
			continue
		}
		for _, o := range t0.Operators {
			switch {
			case len(o.PropertyScope) == len(t0.Properties) && slices.Contains(o.Roles, "manager") && wide.ID == "":
				wide = o
			case len(o.PropertyScope) == 1 && narrow.ID == "":
				narrow = o
			}
		}
		tn = t0
		break
	}
	if wide.ID == "" || narrow.ID == "" {
		t.Fatal("the demo needs an operator with the whole tenant in scope and one with a single property")
	}
	var outside string
	for _, p := range tn.Properties {
		if p.ID != narrow.PropertyScope[0] {
			outside = p.ID
		}
	}
	sg := e.openSuggestion(e.mint(tn, wide, 0, nil), outside)
	a := e.post("/v1/ai/suggestions/"+sg.ID+"/decision", e.mint(tn, narrow, 0, nil), "s1", `{"outcome":"accepted"}`)
	if a.err != nil || a.status != 403 || a.code != "MELMASTOON.BFF.BACKOFFICE.PROPERTY_OUT_OF_SCOPE" {
		t.Fatalf("decision outside scope = %d %s (%v)", a.status, a.body, a.err)
	}
}

func TestConcurrentAcksOnePerOperator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("front_desk"))
	_, lead := e.operator(0, func(o demo.Operator) bool {
		return o.ID != op.ID && len(o.PropertyScope) > 0 && o.PropertyScope[0] == op.PropertyScope[0]
	})
	tok, leadTok := e.mint(tn, op, 0, nil), e.mint(tn, lead, 0, nil)
	prop := op.PropertyScope[0]
	r := e.do("GET", "/v1/alerts?propertyId="+prop, tok, "")
	if r.StatusCode != 200 {
		t.Fatalf("alerts = %d %s", r.StatusCode, r.body)
	}
	var l alertList
	r.json(t, &l)
	if len(l.Items) == 0 {
		t.Fatalf("no open alert in the demo: %s", r.body)
	}
	al := l.Items[0]
	acked := e.pullSubscription(events.AlertAcknowledged)

	const n = 100
	got := counts(t, burst(n, func(i int) answer {
		body := ""
		if i%2 == 0 {
			body = "{}"
		}
		return e.send("/v1/alerts/"+al.ID+"/ack", tok, fmt.Sprintf("ack-%d", i), body)
	}))
	want := map[string]int{"201 ": 1, "409 MELMASTOON.BFF.BACKOFFICE.ALERT_ALREADY_ACKED": n - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answers = %v, want %v", got, want)
	}
	// A colleague's acknowledgement is their own.
	if a := e.post("/v1/alerts/"+al.ID+"/ack", leadTok, "lead-1", ""); a.status != 201 {
		t.Fatalf("colleague's ack = %d %s", a.status, a.body)
	}
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.alert_ack WHERE alert_id = $1`, al.AlertID); got != 2 {
		t.Fatalf("ack rows = %d, want 2 (one per operator)", got)
	}
	if msgs := e.pull(acked, 2); len(msgs) != 2 {
		t.Fatalf("acknowledged events = %d, want 2", len(msgs))
	}
	if extra := e.pullFor(acked, 2*time.Second); len(extra) != 0 {
		t.Fatalf("%d more acknowledged events, want exactly one per ack", len(extra))
	}
	// The operator's open list no longer has it; the acknowledged one does.
	r = e.do("GET", "/v1/alerts?status=acknowledged&propertyId="+prop, tok, "")
	var ackedList alertList
	r.json(t, &ackedList)
	if len(ackedList.Items) != 1 || ackedList.Items[0].ID != al.ID || ackedList.Items[0].AcknowledgedBy != op.ID {
		t.Fatalf("acknowledged list = %s", r.body)
	}
	r = e.do("GET", "/v1/alerts?propertyId="+prop, tok, "")
	var open alertList
	r.json(t, &open)
	for _, it := range open.Items {
		if it.ID == al.ID {
			t.Fatalf("acknowledged alert still open for its operator: %s", r.body)
		}
	}
	if a := e.post("/v1/alerts/"+ids.New(ids.Alert)+"/ack", tok, "x", ""); a.status != 404 || a.code != "MELMASTOON.BFF.BACKOFFICE.NOT_FOUND" {
		t.Fatalf("unknown alert = %d %s", a.status, a.body)
	}
	if a := e.post("/v1/alerts/"+al.ID+"/ack", tok, "y", `{"note":"x"}`); a.status != 400 || a.code != "MELMASTOON.BFF.BACKOFFICE.VALIDATION_FAILED" {
		t.Fatalf("ack with a body = %d %s", a.status, a.body)
	}
}

// TestInboxEventsInAnyOrder publishes the upstream events to the emulator,
// out of order and twice, and checks the inboxes end as if each had
// arrived once, in order.
func TestInboxEventsInAnyOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A manager: the staffing suggestions below are for managers only.
	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	prop := op.PropertyScope[0]
	// Load the mirrors first, so what follows comes from events only.
	e.do("GET", "/v1/ai/suggestions?propertyId="+prop, tok, "")
	e.do("GET", "/v1/alerts?propertyId="+prop, tok, "")

	pub, err := pubsubevents.NewPublisher(context.Background(), e.project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	// The consumer of each subject, whose processed markers (Redis, under
	// the dev server's prefix) say an event has been applied.
	consumerOf := map[string]string{
		events.AISuggestionCreated: "suggestion-created", events.AISuggestionInvalidated: "suggestion-invalidated",
		events.NotificationAlertRaised: "alert-raised", events.NotificationAlertResolved: "alert-resolved",
	}
	var markers []string
	publish := func(subject string, data any) {
		t.Helper()
		ev, err := events.New(subject, tn.ID, prop, data)
		if err != nil {
			t.Fatal(err)
		}
		markers = append(markers, consume.MarkerKey(e.rdb, consumerOf[subject], ev.ID))
		for range 2 { // at-least-once: delivered twice
			if err := pub.Publish(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now().UTC()
	prov := map[string]string{"model": "m", "modelVersion": "1", "promptVersion": "p@1", "modelClass": "edge", "signatureFingerprint": "sha256:ab"}
	suggestion := func(id, title string, p any) map[string]any {
		return map[string]any{"suggestionId": id, "propertyId": prop, "category": "staffing", "severity": "info",
			"createdAt": now.Format(time.RFC3339Nano), "expiresAt": now.Add(time.Hour).Format(time.RFC3339Nano), "title": title, "provenance": p}
	}
	// kept: created only. gone: invalidated before it was created.
	// hidden: no provenance.
	publish(events.AISuggestionInvalidated, map[string]string{"suggestionId": "sug-e2e-gone", "propertyId": prop})
	publish(events.AISuggestionCreated, suggestion("sug-e2e-gone", "Gone", prov))
	publish(events.AISuggestionCreated, suggestion("sug-e2e-kept", "Kept", prov))
	publish(events.AISuggestionCreated, suggestion("sug-e2e-hidden", "Hidden", nil))
	// An alert resolved before it was raised, and one only raised.
	publish(events.NotificationAlertResolved, map[string]string{"alertId": "alr-e2e-1", "propertyId": prop, "resolvedAt": now.Format(time.RFC3339Nano)})
	alert := func(id string) map[string]any {
		return map[string]any{"alertId": id, "propertyId": prop, "severity": "critical", "category": "lock_failed",
			"raisedAt": now.Add(-time.Minute).Format(time.RFC3339Nano), "payload": map[string]string{"room": "204"}}
	}
	publish(events.NotificationAlertRaised, alert("alr-e2e-1"))
	publish(events.NotificationAlertRaised, alert("alr-e2e-2"))

	has := func(items []inbox.SuggestionEntry, id string) bool {
		for _, it := range items {
			if it.SuggestionID == id {
				return true
			}
		}
		return false
	}
	var sl suggestionList
	eventually(t, 15*time.Second, "the created suggestion is listed", func() bool {
		r := e.do("GET", "/v1/ai/suggestions?propertyId="+prop, tok, "")
		sl = suggestionList{}
		r.json(t, &sl)
		return has(sl.Items, "sug-e2e-kept")
	})
	var al alertList
	eventually(t, 15*time.Second, "both alerts arrived", func() bool {
		r := e.do("GET", "/v1/alerts?status=all&propertyId="+prop, tok, "")
		al = alertList{}
		r.json(t, &al)
		n := 0
		for _, it := range al.Items {
			if strings.HasPrefix(it.AlertID, "alr-e2e-") {
				n++
			}
		}
		return n == 2
	})
	// Every event applied (its marker written after its handler
	// succeeded): the inboxes are final, whatever the duplicates still
	// in flight do (they find the marker, or apply the same state again).
	eventually(t, 15*time.Second, "every event processed", func() bool {
		n, err := e.rdb.Exists(context.Background(), markers...).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == int64(len(markers))
	})
	r := e.do("GET", "/v1/ai/suggestions?status=all&propertyId="+prop, tok, "")
	sl = suggestionList{}
	r.json(t, &sl)
	if has(sl.Items, "sug-e2e-gone") || has(sl.Items, "sug-e2e-hidden") || !has(sl.Items, "sug-e2e-kept") {
		t.Fatalf("suggestions = %s; want kept, not gone (invalidated first) nor hidden (no provenance)", r.body)
	}
	r = e.do("GET", "/v1/alerts?status=all&propertyId="+prop, tok, "")
	al = alertList{}
	r.json(t, &al)
	for _, it := range al.Items {
		switch it.AlertID {
		case "alr-e2e-1":
			if it.Status != inbox.StatusResolved || it.ResolvedAt.IsZero() {
				t.Fatalf("alert resolved before raised = %+v, want resolved", it)
			}
		case "alr-e2e-2":
			if it.Status != inbox.StatusOpen || string(it.Payload) != `{"room":"204"}` {
				t.Fatalf("raised alert = %+v, want open with its payload", it)
			}
		}
	}
}

// pullFor reads whatever arrives on sub within d.
func (e *env) pullFor(sub string, d time.Duration) []string {
	e.t.Helper()
	c := e.pubsubClient()
	deadline := time.Now().Add(d)
	var got []string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Until(deadline)+100*time.Millisecond)
		res, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100})
		cancel()
		if err != nil {
			break // the deadline passed with nothing to read
		}
		for _, m := range res.GetReceivedMessages() {
			got = append(got, string(m.GetMessage().GetData()))
		}
	}
	return got
}
