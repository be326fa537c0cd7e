package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	aidecision "github.com/melmastoon/bff-backoffice/functions/ai-decision"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
)

// TestDecisionsWhilePubSubIsDown runs the ai-decision function with a gate
// on the dev server's Postgres and Redis, but with a Pub/Sub client behind a
// proxy that takes the bus away: every decision is still recorded and
// answered 201, its event waits in the outbox, and once the bus is back
// the outbox-relay job publishes every one of them.
func TestDecisionsWhilePubSubIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	bus := testenv.NewBusProxy(t, testenv.PubsubHost(t))
	behindProxy, err := pubsubevents.NewPublisher(ctx, e.project, pubsubevents.Options{
		Timeout: 2 * time.Second,
		ClientOptions: []option.ClientOption{
			option.WithEndpoint(bus.Addr), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer behindProxy.Close()
	ai, err := aiorchestrator.NewClient(aiorchestrator.Config{URL: e.srv.Upstreams["ai-orchestrator"], Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store, err := idempotency.NewStore(ctx, e.project, idempotency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// A gate and clients of its own, from the configuration the dev
	// server starts every function with.
	g, res, err := setup.Gate(ctx, e.srv.Lookuper(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	suggestions := inbox.NewSuggestions(inbox.Deps{
		Redis: res.Redis, DB: res.DB, AI: ai,
		Relay: outbox.NewRelay(res.DB, behindProxy, nil, outbox.Options{PublishTimeout: time.Second}),
	})
	fn := httptest.NewServer(httpx.Wrap(testLog(t), aidecision.New(g, store, suggestions)))
	defer fn.Close()

	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	var open []inbox.SuggestionEntry
	for _, p := range op.PropertyScope {
		r := e.do("GET", "/v1/ai/suggestions?propertyId="+p, tok, "")
		var l suggestionList
		r.json(t, &l)
		open = append(open, l.Items...)
	}
	if len(open) < 2 {
		t.Fatalf("only %d open suggestions in the demo", len(open))
	}
	decided := e.pullSubscription(events.AISuggestionDecided)

	bus.Down()
	answers := burst(len(open), func(i int) answer {
		return e.postTo(fn.URL, "/v1/ai/suggestions/"+open[i].ID+"/decision", tok, fmt.Sprintf("down-%d", i), `{"outcome":"accepted"}`)
	})
	for i, a := range answers {
		if a.err != nil || a.status != 201 {
			t.Fatalf("decision %d with Pub/Sub down = %d %s (%v), want 201", i, a.status, a.body, a.err)
		}
	}
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.outbox WHERE subject = $1`, events.AISuggestionDecided); got != len(open) {
		t.Fatalf("outbox holds %d decided events, want %d", got, len(open))
	}
	if got := e.pullFor(decided, time.Second); len(got) != 0 {
		t.Fatalf("%d events published while the bus was down", len(got))
	}

	bus.Up()
	healthy, err := pubsubevents.NewPublisher(ctx, e.project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close()
	stats, err := outbox.Drain(ctx, testenv.JobsDB(t, e.pg), healthy, outbox.DrainOptions{MinAge: -1, Log: testLog(t)})
	if err != nil || stats.Published != len(open) {
		t.Fatalf("drain = %+v, %v; want %d published", stats, err, len(open))
	}
	msgs := e.pull(decided, len(open))
	seen := map[string]bool{}
	for _, m := range msgs {
		ev, err := events.Decode(m.GetData())
		if err != nil {
			t.Fatal(err)
		}
		seen[ev.ID] = true
	}
	if len(seen) != len(open) {
		t.Fatalf("%d distinct events published, want %d", len(seen), len(open))
	}
	if got := e.countRows(tn.ID, `SELECT count(*) FROM bff.outbox`); got != 0 {
		t.Fatalf("outbox holds %d rows after the drain, want 0", got)
	}
}

// TestDecisionForwardRetried: with ai-orchestrator-service failing, a
// decision is still recorded (201) but not forwarded; the decision-forward
// job hands it over once the service is back, exactly once in effect.
func TestDecisionForwardRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("manager"))
	tok := e.mint(tn, op, 0, nil)
	prop := op.PropertyScope[0]
	sg := e.openSuggestion(tok, prop)
	ai := e.srv.Fleet.AIOrchestrator
	decisions := "/v1/tenants/" + tn.ID + "/properties/" + prop + "/suggestions/" + sg.SuggestionID + "/decisions"
	if err := ai.Fake().SetFault(fakes.Fault{Path: decisions, ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if a := e.send("/v1/ai/suggestions/"+sg.ID+"/decision", tok, "f1", `{"outcome":"accepted"}`); a.err != nil || a.status != 201 {
		t.Fatalf("decision with the orchestrator failing = %d %s (%v), want 201", a.status, a.body, a.err)
	}
	if _, ok := ai.Decision(tn.ID, prop, sg.SuggestionID); ok {
		t.Fatal("the orchestrator took the decision through an injected 503")
	}
	unforwarded := `SELECT count(*) FROM bff.ai_decision WHERE forwarded_at IS NULL`
	if got := e.countRows(tn.ID, unforwarded); got != 1 {
		t.Fatalf("unforwarded decisions = %d, want 1", got)
	}
	jobs := testenv.JobsDB(t, e.pg)
	ctx := context.Background()
	aiClient, err := aiorchestrator.NewClient(aiorchestrator.Config{URL: e.srv.Upstreams["ai-orchestrator"], Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	quiet := inbox.ForwardOptions{MinAge: -1, Log: testLog(t)}
	// Still failing: counted, kept for the next run.
	if st, err := inbox.RetryForwards(ctx, jobs, aiClient, quiet); err != nil || st.Failed != 1 || st.Forwarded != 0 {
		t.Fatalf("run while failing = %+v, %v", st, err)
	}
	// A run with the default minimum age leaves a fresh decision to its request.
	if st, err := inbox.RetryForwards(ctx, jobs, aiClient, inbox.ForwardOptions{Log: testLog(t)}); err != nil || st != (inbox.ForwardStats{}) {
		t.Fatalf("run with the default min age = %+v, %v; want nothing done", st, err)
	}
	ai.Fake().ClearFaults()
	if st, err := inbox.RetryForwards(ctx, jobs, aiClient, quiet); err != nil || st.Forwarded != 1 {
		t.Fatalf("run after recovery = %+v, %v; want 1 forwarded", st, err)
	}
	got, ok := ai.Decision(tn.ID, prop, sg.SuggestionID)
	if !ok || got.DecisionID != sg.ID || got.Outcome != "accepted" || got.DecidedBy != op.ID {
		t.Fatalf("orchestrator holds %+v (%v), want the recorded decision", got, ok)
	}
	if n := e.countRows(tn.ID, unforwarded); n != 0 {
		t.Fatalf("unforwarded decisions after the job = %d, want 0", n)
	}
	if st, err := inbox.RetryForwards(ctx, jobs, aiClient, quiet); err != nil || st != (inbox.ForwardStats{}) {
		t.Fatalf("second run = %+v, %v; want nothing left", st, err)
	}
}
