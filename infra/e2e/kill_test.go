package e2e

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// The audit invariant under the harshest stop: a real function process is
// SIGKILLed the moment its first answer arrives, with more requests still
// in flight. Every request that got an answer must have its activity row —
// the row is committed before the response is written, so nothing is left
// for after it. Requests cut off without an answer may or may not have one.
func TestEveryAnsweredRequestHasItsRowAfterSIGKILL(t *testing.T) {
	t.Parallel()
	const (
		rounds   = 3
		inFlight = 24
	)
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	_, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	project := testenv.ProjectID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ds, err := demo.Load(root + "/testdata/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	fk, err := devserver.StartFakes(root, ds, [2]time.Duration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	if err := pubsubevents.EnsureTopics(ctx, project, events.Emitted()...); err != nil {
		t.Fatal(err)
	}
	bin, err := devserver.BuildCommand(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tn, mgr := demoOperator(t, ds, hasRole("manager"))
	var logs lockedBuffer
	answered := map[string]bool{} // request id → answered
	total := 0
	for round := range rounds {
		p, err := devserver.StartProcess(ctx, devserver.ProcessOptions{
			Binary: bin, RepoRoot: root, DatabaseURL: info.AppURL, RedisAddr: rdb.Options().Addr,
			RedisPrefix: rdb.Prefix, ProjectID: project, Upstreams: fk.Upstreams, Stderr: &logs, LogLevel: "error",
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, logs.String())
		}
		// One device per request: each opens its own session too, so the
		// session.opened rows are in the race as well.
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
		first := make(chan struct{})
		var once sync.Once
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range inFlight {
			tok, err := fk.IAM.Mint(iam.Claims{TenantID: tn.ID, OperatorID: mgr.ID, DeviceID: ids.New(ids.Device)}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(ctx, "GET", p.BaseURL+"/v1/today", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := client.Do(req)
				if err != nil {
					return // cut off by the kill: no answer, no claim
				}
				_, rerr := io.ReadAll(res.Body)
				res.Body.Close()
				if rerr != nil || res.StatusCode != 200 {
					return
				}
				mu.Lock()
				answered[res.Header.Get("X-Request-Id")] = true
				mu.Unlock()
				once.Do(func() { close(first) })
			})
		}
		select {
		case <-first:
		case <-ctx.Done():
			t.Fatalf("round %d: no answer\n%s", round, logs.String())
		}
		p.Kill()
		wg.Wait()
		client.CloseIdleConnections()
		total += inFlight
	}
	if len(answered) == 0 {
		t.Fatal("no request was answered")
	}

	// Read the rows as an auditor would (RLS on, the tenant set).
	conn, err := pgx.Connect(ctx, info.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tn.ID); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `SELECT request_id FROM bff.operator_activity WHERE action = 'workbench.today.opened'`)
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, id := range recorded {
		have[id] = true
	}
	for id := range answered {
		if !have[id] {
			t.Errorf("request %s was answered 200 but has no activity row after the process was killed", id)
		}
	}
	t.Logf("%d rounds: %d requests sent, %d answered before SIGKILL, %d rows", rounds, total, len(answered), len(recorded))
}
