package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// The tests use the real Postgres (as bff_app and bff_jobs, so RLS applies)
// and the real Pub/Sub emulator, read back through pull subscriptions.

type fixture struct {
	app, jobs *pg.DB
	info      testenv.PGInfo
	admin     *pgxpool.Pool // superuser: the test's own view of the table
	project   string
	bus       *pubsub.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testenv.PubsubHost(t)
	app, info := testenv.Postgres(t)
	f := &fixture{app: app, jobs: testenv.JobsDB(t, info), info: info, project: testenv.ProjectID(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if f.admin, err = pgxpool.New(ctx, info.AdminURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.admin.Close)
	if f.bus, err = pubsub.NewClient(ctx, f.project); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.bus.Close() })
	return f
}

// subscribe creates the topics of subjects and one pull subscription on
// each, before anything is published (a subscription only sees what is
// published after it exists).
func (f *fixture) subscribe(t *testing.T, subjects ...string) []string {
	t.Helper()
	ctx := context.Background()
	if err := pubsubevents.EnsureTopics(ctx, f.project, subjects...); err != nil {
		t.Fatal(err)
	}
	var subs []string
	for i, s := range subjects {
		name := fmt.Sprintf("projects/%s/subscriptions/sub%d", f.project, i)
		if _, err := f.bus.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: name, Topic: fmt.Sprintf("projects/%s/topics/%s", f.project, s), AckDeadlineSeconds: 60,
		}); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, name)
	}
	return subs
}

// received is what the subscriptions got: deliveries per event id.
type received struct {
	count map[string]int
	msgs  map[string]*pubsubpb.PubsubMessage
}

func (r received) total() int {
	n := 0
	for _, c := range r.count {
		n += c
	}
	return n
}

// receive pulls (and acknowledges) until every id in want has arrived, then
// keeps pulling for a quiet period to catch anything extra.
func (f *fixture) receive(t *testing.T, subs []string, want []string) received {
	t.Helper()
	r := received{count: map[string]int{}, msgs: map[string]*pubsubpb.PubsubMessage{}}
	missing := func() int {
		n := 0
		for _, id := range want {
			if r.count[id] == 0 {
				n++
			}
		}
		return n
	}
	pullOnce := func(ctx context.Context, sub string) error {
		resp, err := f.bus.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 500})
		if err != nil {
			return err
		}
		var acks []string
		for _, m := range resp.GetReceivedMessages() {
			ev, err := events.Decode(m.GetMessage().GetData())
			if err != nil {
				t.Errorf("message on %s is not an envelope: %v", sub, err)
				continue
			}
			r.count[ev.ID]++
			r.msgs[ev.ID] = m.GetMessage()
			acks = append(acks, m.GetAckId())
		}
		if len(acks) > 0 {
			return f.bus.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: acks})
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for missing() > 0 {
		for _, s := range subs {
			if err := pullOnce(ctx, s); err != nil {
				t.Fatalf("pull %s with %d of %d events missing: %v", s, missing(), len(want), err)
			}
		}
	}
	for _, s := range subs {
		qctx, qcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = pullOnce(qctx, s) // a deadline here means nothing more came
		qcancel()
	}
	return r
}

// viaProxy is a publisher whose client reaches the emulator at addr (a
// testenv.BusProxy). Its bundle timeout is short so that Close returns soon while
// the bus is down, and nothing it failed to send can arrive later.
func viaProxy(t *testing.T, project, addr string) *pubsubevents.Publisher {
	t.Helper()
	p, err := pubsubevents.NewPublisher(context.Background(), project, pubsubevents.Options{
		Timeout: 2 * time.Second,
		ClientOptions: []option.ClientOption{
			option.WithEndpoint(addr),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newPublisher(t *testing.T, project string) *pubsubevents.Publisher {
	t.Helper()
	p, err := pubsubevents.NewPublisher(context.Background(), project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func newEvent(t *testing.T, subject, tenant string, i int) events.Envelope {
	t.Helper()
	e, err := events.New(subject, tenant, ids.New(ids.Property), map[string]any{"i": i, "note": "<&> ü"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const insertActivity = `INSERT INTO bff.operator_activity
	(id, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id)
	VALUES ($1, $2, $3, $4, now(), 'ai_decision', 'suggestion.decided', 'success', 3, 'req-1')`

// write commits a ledger row of tenant with evs in its outbox, the way a
// decision is recorded; fail makes the transaction roll back after both.
func write(ctx context.Context, db *pg.DB, tenant string, fail error, evs ...events.Envelope) error {
	return db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertActivity, ids.New(ids.Activity), tenant, ids.New(ids.Operator), ids.New(ids.Device)); err != nil {
			return err
		}
		if err := outbox.Add(ctx, tx, evs...); err != nil {
			return err
		}
		return fail
	})
}

// commit writes evs of tenant as write does, failing t unless they
// commit.
func (f *fixture) commit(t *testing.T, tenant string, evs ...events.Envelope) {
	t.Helper()
	if err := write(context.Background(), f.app, tenant, nil, evs...); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// relay is a relay over the app role with a publisher on the emulator.
func (f *fixture) relay(t *testing.T) *outbox.Relay {
	return outbox.NewRelay(f.app, newPublisher(t, f.project), logtest.TestLogger(t), outbox.Options{})
}

// outboxRow is a row as the superuser sees it.
type outboxRow struct {
	ID, Tenant, Subject string
	Envelope            []byte
	Attempts            int
	LastError           *string
	Due                 bool
}

func (f *fixture) rows(t *testing.T) []outboxRow {
	t.Helper()
	rs, err := f.admin.Query(context.Background(),
		`SELECT id, tenant_id, subject, envelope, attempts, last_error, next_attempt_at <= now() FROM bff.outbox ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (outboxRow, error) {
		var x outboxRow
		err := r.Scan(&x.ID, &x.Tenant, &x.Subject, &x.Envelope, &x.Attempts, &x.LastError, &x.Due)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) rowIDs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range f.rows(t) {
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return out
}

// wantEmpty fails t, going on, unless the outbox holds no row; when names
// the moment ("after Send"). It says whether the outbox was empty.
func (f *fixture) wantEmpty(t *testing.T, when string) bool {
	t.Helper()
	got := f.rowIDs(t)
	if len(got) != 0 {
		t.Errorf("outbox %s = %v, want empty", when, got)
	}
	return len(got) == 0
}

func idsOf(evs []events.Envelope) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	sort.Strings(out)
	return out
}

func marshal(t *testing.T, e events.Envelope) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
