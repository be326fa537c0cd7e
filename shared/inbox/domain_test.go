package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
)

// The inboxes' rules called directly, with a plain actor: Postgres as the
// app role (row-level security on) and Redis are real; no HTTP, no gate.

// busDown keeps every event in the outbox, where the tests count them.
type busDown struct{}

func (busDown) Publish(context.Context, ...events.Envelope) error {
	return errors.New("pub/sub unreachable (test)")
}

type domain struct {
	app    *pg.DB
	deps   inbox.Deps
	tenant string
	props  []string // the actor's scope
	other  string   // a property of the tenant outside the scope
}

func newDomain(t *testing.T) *domain {
	t.Helper()
	app, _ := testenv.Postgres(t)
	d := &domain{
		app:    app,
		tenant: ids.New(ids.Tenant), props: []string{ids.New(ids.Property), ids.New(ids.Property)}, other: ids.New(ids.Property),
	}
	d.deps = inbox.Deps{Redis: testenv.Redis(t), DB: app, Cursors: cursors(t), Relay: outbox.NewRelay(app, busDown{}, nil, outbox.Options{PublishTimeout: 100 * time.Millisecond})}
	return d
}

// operator is a new operator of the tenant on a new device, with the
// domain's scope.
func (d *domain) operator() actor.Actor {
	return actor.Actor{
		TenantID: d.tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session),
		Roles: []string{"night_auditor"}, PropertyScope: d.props, RequestID: "req-" + testenv.Unique(), Start: time.Now(),
	}
}

// onDevice is a on another device of the same operator.
func onDevice(a actor.Actor) actor.Actor {
	a.DeviceID, a.SessionID, a.RequestID = ids.New(ids.Device), ids.New(ids.Session), "req-"+testenv.Unique()
	return a
}

func (d *domain) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	// As the app role under the tenant's row-level security, as the
	// service itself reads them.
	err := d.app.InTenantTx(context.Background(), d.tenant, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, query, args...).Scan(&n)
	})
	if err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return n
}

// suggestion mirrors one suggestion of prop expiring at exp and returns
// its inbox entry id.
func (d *domain) suggestion(t *testing.T, s *inbox.Suggestions, prop string, exp time.Time) string {
	t.Helper()
	sg := aiorchestrator.Suggestion{
		SuggestionID: "sug-" + testenv.Unique(), PropertyID: prop, Category: aiorchestrator.CategoryRateChange,
		Severity: aiorchestrator.SeverityAttention, CreatedAt: jsontime.Of(exp.Add(-time.Hour)), ExpiresAt: jsontime.Of(exp),
		Title: "Raise the weekend rate", Provenance: &aiorchestrator.Provenance{Model: "m", ModelVersion: "1", PromptVersion: "p", ModelClass: "cloud", SignatureFingerprint: "f"},
	}
	// Loaded: the mirror is all there is (no ai-orchestrator-service).
	if err := s.Put(context.Background(), d.tenant, prop, []aiorchestrator.Suggestion{sg}, true); err != nil {
		t.Fatal(err)
	}
	return inbox.EntryID(ids.AISuggestion, d.tenant, sg.SuggestionID, sg.CreatedAt.Time)
}

func TestDecideIsWriteOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	s := inbox.NewSuggestions(d.deps)
	aim := d.suggestion(t, s, d.props[1], time.Now().Add(time.Hour))
	ctx := context.Background()

	const n = 8
	type result struct {
		entry inbox.SuggestionEntry
		note  activity.Note
		err   error
	}
	results := make([]result, n)
	var start, done sync.WaitGroup
	start.Add(1)
	base := d.operator()
	for i := range n {
		a := base
		if i%2 == 1 {
			a = d.operator() // colleagues on other desks decide too
		}
		a = onDevice(a)
		done.Go(func() {
			start.Wait()
			e, note, err := s.Decide(ctx, a, aim, inbox.DecisionRequest{Outcome: aiorchestrator.OutcomeAccepted})
			results[i] = result{e, note, err}
		})
	}
	start.Done()
	done.Wait()

	var won []result
	for _, r := range results {
		switch {
		case r.err == nil:
			won = append(won, r)
		case !apperr.Is(r.err, apperr.DecisionAlreadyRecorded):
			t.Errorf("Decide = %v, want success or DECISION_ALREADY_RECORDED", r.err)
		case r.note.Recorded:
			t.Errorf("a refused decision says its row was recorded: %+v", r.note)
		}
		if r.note.Action != activity.ActionAISuggestionDecide || r.note.PropertyID != d.props[1] {
			t.Errorf("note = %+v, want %s on %s", r.note, activity.ActionAISuggestionDecide, d.props[1])
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d decisions succeeded, want exactly 1", len(won))
	}
	w := won[0]
	if !w.note.Recorded || w.entry.Status != inbox.StatusDecided || w.entry.Decision == nil || w.entry.Decision.Outcome != aiorchestrator.OutcomeAccepted {
		t.Errorf("winner: entry %+v, note %+v", w.entry, w.note)
	}
	for _, c := range []struct {
		query string
		arg   string
	}{
		{`SELECT count(*) FROM bff.ai_decision WHERE id = $1`, aim},
		{`SELECT count(*) FROM bff.outbox WHERE subject = $1`, events.AISuggestionDecided},
		{`SELECT count(*) FROM bff.operator_activity WHERE action = $1`, activity.ActionAISuggestionDecide},
	} {
		if got := d.count(t, c.query, c.arg); got != 1 {
			t.Errorf("%s [%s] = %d, want 1", c.query, c.arg, got)
		}
	}
}

func TestDecideRefusals(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	ctx := context.Background()
	now := time.Now()
	cases := []struct {
		name string
		prop func(d *domain) string
		exp  time.Time
		req  inbox.DecisionRequest
		aim  string // overrides the mirrored entry's id
		code apperr.Code
	}{
		{name: "expired", prop: func(d *domain) string { return d.props[0] }, exp: now.Add(-time.Minute), req: inbox.DecisionRequest{Outcome: "rejected"}, code: apperr.SuggestionExpired},
		{name: "out of scope", prop: func(d *domain) string { return d.other }, exp: now.Add(time.Hour), req: inbox.DecisionRequest{Outcome: "accepted"}, code: apperr.PropertyOutOfScope},
		{name: "unknown entry", prop: func(d *domain) string { return d.props[0] }, exp: now.Add(time.Hour), req: inbox.DecisionRequest{Outcome: "accepted"}, aim: ids.New(ids.AISuggestion), code: apperr.NotFound},
		{name: "malformed id", prop: func(d *domain) string { return d.props[0] }, exp: now.Add(time.Hour), req: inbox.DecisionRequest{Outcome: "accepted"}, aim: "aim_x", code: apperr.ValidationFailed},
		{name: "bad body", prop: func(d *domain) string { return d.props[0] }, exp: now.Add(time.Hour), req: inbox.DecisionRequest{Outcome: "modified"}, code: apperr.ValidationFailed},
	}
	s := inbox.NewSuggestions(d.deps)
	// Loaded, empty: an unknown entry is looked for in the mirrors of the
	// scope, never at ai-orchestrator-service (there is none here).
	for _, p := range d.props {
		if err := s.Put(ctx, d.tenant, p, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			aim := d.suggestion(t, s, tc.prop(d), tc.exp)
			if tc.aim != "" {
				aim = tc.aim
			}
			_, note, err := s.Decide(ctx, d.operator(), aim, tc.req)
			if got := apperr.CodeOf(err); got != tc.code {
				t.Fatalf("Decide = %v, want %s", err, tc.code)
			}
			if note.Recorded || note.Action != activity.ActionAISuggestionDecide || note.Category != activity.CategoryAIDecision {
				t.Errorf("note = %+v, want an unrecorded %s note", note, activity.ActionAISuggestionDecide)
			}
		})
	}
	// Nothing refused left a trace: the caller records the failures.
	for _, table := range []string{"bff.ai_decision", "bff.outbox", "bff.operator_activity"} {
		if n := d.count(t, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s holds %d rows after refusals only", table, n)
		}
	}
}

func TestAlreadyDecidedWinsOverExpired(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	ctx := context.Background()
	clock := time.Now()
	deps := d.deps
	deps.Now = func() time.Time { return clock }
	s := inbox.NewSuggestions(deps)
	aim := d.suggestion(t, s, d.props[0], clock.Add(time.Minute))
	if _, _, err := s.Decide(ctx, d.operator(), aim, inbox.DecisionRequest{Outcome: "accepted"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if _, _, err := s.Decide(ctx, d.operator(), aim, inbox.DecisionRequest{Outcome: "rejected"}); !apperr.Is(err, apperr.DecisionAlreadyRecorded) {
		t.Fatalf("second decision past expiry = %v, want DECISION_ALREADY_RECORDED", err)
	}
}

func TestAckOncePerOperator(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	ctx := context.Background()
	al := inbox.NewAlerts(d.deps, nil)
	alert := notification.Alert{AlertID: "alr-" + testenv.Unique(), PropertyID: d.props[0], Severity: notification.SeverityWarning,
		Category: notification.CategoryOversold, RaisedAt: jsontime.Of(time.Now().Add(-time.Minute)), Payload: json.RawMessage(`{}`)}
	if err := al.Put(ctx, d.tenant, d.props[0], []notification.Alert{alert}, true); err != nil {
		t.Fatal(err)
	}
	ali := inbox.EntryID(ids.Alert, d.tenant, alert.AlertID, alert.RaisedAt.Time)

	// Two operators, each acknowledging from several devices at once.
	ops := []actor.Actor{d.operator(), d.operator()}
	const perOp = 4
	type result struct {
		op   int
		note activity.Note
		err  error
	}
	results := make(chan result, len(ops)*perOp)
	var start, done sync.WaitGroup
	start.Add(1)
	for i, op := range ops {
		for range perOp {
			a := onDevice(op)
			done.Go(func() {
				start.Wait()
				e, note, err := al.Ack(ctx, a, ali)
				if err == nil && (e.AcknowledgedBy != a.OperatorID || e.Status != inbox.StatusAcknowledged) {
					t.Errorf("acknowledged entry = %+v", e)
				}
				results <- result{i, note, err}
			})
		}
	}
	start.Done()
	done.Wait()
	close(results)
	won := make([]int, len(ops))
	for r := range results {
		switch code := apperr.CodeOf(r.err); {
		case r.err == nil:
			won[r.op]++
			if !r.note.Recorded {
				t.Errorf("a successful ack's note is not recorded: %+v", r.note)
			}
		case code != apperr.AlertAlreadyAcked:
			t.Errorf("Ack = %v, want success or ALERT_ALREADY_ACKED", r.err)
		}
	}
	if diff := cmp.Diff([]int{1, 1}, won); diff != "" {
		t.Errorf("successful acks per operator (-want +got):\n%s", diff)
	}
	if n := d.count(t, `SELECT count(*) FROM bff.alert_ack WHERE id = $1`, ali); n != 2 {
		t.Errorf("%d ack rows, want 2 (one per operator)", n)
	}
	if n := d.count(t, `SELECT count(*) FROM bff.outbox WHERE subject = $1`, events.AlertAcknowledged); n != 2 {
		t.Errorf("%d acknowledged events, want 2", n)
	}

	// The inbox reads them back per operator.
	for i, op := range ops {
		l, note, err := al.Inbox(ctx, op, inbox.Query{Status: inbox.StatusAcknowledged})
		if err != nil || len(l.Items) != 1 || l.Items[0].AcknowledgedBy != op.OperatorID || l.PropertyID != d.props[0] {
			t.Errorf("operator %d: Inbox = %+v, %v", i, l, err)
		}
		if note.Action != activity.ActionAlertInboxViewed || note.PropertyID != d.props[0] || note.Recorded {
			t.Errorf("operator %d: note = %+v", i, note)
		}
	}
	stranger := d.operator()
	if l, _, err := al.Inbox(ctx, stranger, inbox.Query{PropertyID: d.props[0]}); err != nil || len(l.Items) != 1 || l.Items[0].Status != inbox.StatusOpen {
		t.Errorf("a third operator's open inbox = %+v, %v; want the alert open", l, err)
	}
}

func TestInboxScopeAndStatus(t *testing.T) {
	t.Parallel()
	d := newDomain(t)
	ctx := context.Background()
	s := inbox.NewSuggestions(d.deps)
	a := d.operator()
	cases := []struct {
		name, prop, status string
		code               apperr.Code
		field              string
	}{
		{name: "out of scope", prop: d.other, code: apperr.PropertyOutOfScope},
		{name: "malformed property", prop: "prp_nope", code: apperr.ValidationFailed, field: "propertyId"},
		{name: "unknown status", prop: d.props[0], status: "later", code: apperr.ValidationFailed, field: "status"},
		{name: "acknowledged is not a suggestion status", status: "acknowledged", code: apperr.ValidationFailed, field: "status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, note, err := s.Inbox(ctx, a, inbox.Query{PropertyID: tc.prop, Status: tc.status})
			ae := apperr.From(err)
			if err == nil || ae.Code != tc.code {
				t.Fatalf("Inbox = %v, want %s", err, tc.code)
			}
			if tc.field != "" && (len(ae.Fields) != 1 || ae.Fields[0].Field != tc.field) {
				t.Errorf("fields = %+v, want %s", ae.Fields, tc.field)
			}
			if note.Action != activity.ActionAIInboxViewed {
				t.Errorf("note = %+v", note)
			}
		})
	}
}
