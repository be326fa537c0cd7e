package retention_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/functions/retention"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

const day = 24 * time.Hour

// seal chains every row, as export-activity does before it exports. The
// horizon is the cluster's oldest open transaction: another test's may
// hold it back a while.
func seal(t *testing.T, jobs *pg.DB) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := ledgerchain.Seal(ctx, jobs, ledgerchain.SealOptions{}); err != nil {
			t.Fatal(err)
		}
		var unsealed int
		if err := jobs.Pool().QueryRow(ctx, `SELECT count(*) FROM bff.operator_activity a
 WHERE NOT EXISTS (SELECT 1 FROM bff.activity_chain c WHERE c.activity_id = a.id)`).Scan(&unsealed); err != nil {
			t.Fatal(err)
		}
		if unsealed == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows unsealed after 60 s", unsealed)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func total(t *testing.T, jobs *pg.DB) (rows, links int) {
	t.Helper()
	if err := jobs.Pool().QueryRow(context.Background(),
		"SELECT (SELECT count(*) FROM bff.operator_activity), (SELECT count(*) FROM bff.activity_chain)").Scan(&rows, &links); err != nil {
		t.Fatal(err)
	}
	return rows, links
}

func verify(t *testing.T, jobs *pg.DB) *ledgerchain.Report {
	t.Helper()
	rep, err := ledgerchain.VerifyPostgres(context.Background(), jobs)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Exported, sealed rows past 90 days: retention deletes them and prunes
// their links; the chains verify from the new anchors, and an edit to a
// row that remains is still found.
func TestRetentionPrunesTheChain(t *testing.T) {
	t.Parallel()
	app, jobs, info := databases(t)
	ctx := context.Background()
	tenants := []string{ids.New(ids.Tenant), ids.New(ids.Tenant)}
	for _, tn := range tenants {
		insert(t, app, tn, 23, 100*day)
	}
	for _, tn := range tenants {
		insert(t, app, tn, 4, time.Hour)
	}
	seal(t, jobs)
	exportUpTo(t, jobs, 1, 54)
	sum, err := retention.Run(ctx, jobs, retention.Options{BatchRows: 10})
	if err != nil || sum.Deleted != 46 || sum.LinksPruned != 46 || len(sum.PruneHeld) != 0 {
		t.Fatalf("run: %+v, %v; want 46 rows deleted and their 46 links pruned", sum, err)
	}
	if rows, links := total(t, jobs); rows != 8 || links != 8 {
		t.Fatalf("%d rows, %d links left; want 8 and 8", rows, links)
	}
	rep := verify(t, jobs)
	if !rep.OK() || rep.Rows != 8 || rep.Anchored != 46 || rep.Pruned != 0 {
		t.Fatalf("verify after retention: %+v %v", rep, rep.Breaks)
	}
	if sum, err := retention.Run(ctx, jobs, retention.Options{}); err != nil || sum.Deleted != 0 || sum.LinksPruned != 0 {
		t.Fatalf("idle run: %+v %v", sum, err)
	}

	// An edit to a remaining row, as the owner bypassing the ledger's
	// trigger and row security.
	c, err := pgx.Connect(ctx, info.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	// The same guards are lifted and put back.
	guards := func(on bool) {
		t.Helper()
		trigger, rls := "DISABLE", "NO FORCE"
		if on {
			trigger, rls = "ENABLE", "FORCE"
		}
		for _, s := range []string{
			"ALTER TABLE bff.operator_activity " + trigger + " TRIGGER operator_activity_append_only",
			"ALTER TABLE bff.operator_activity " + rls + " ROW LEVEL SECURITY",
			"ALTER TABLE bff.activity_chain " + rls + " ROW LEVEL SECURITY",
		} {
			if _, err := c.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	var id string
	guards(false)
	if err := c.QueryRow(ctx, `UPDATE bff.operator_activity SET latency_ms = latency_ms + 1
 WHERE id = (SELECT activity_id FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 25) RETURNING id`, tenants[1]).Scan(&id); err != nil {
		t.Fatal(err)
	}
	guards(true)
	rep = verify(t, jobs)
	if len(rep.Breaks) != 1 || rep.Breaks[0].TenantID != tenants[1] || rep.Breaks[0].Kind != ledgerchain.Altered ||
		rep.Breaks[0].Seq != 25 || rep.Breaks[0].ActivityID != id {
		t.Fatalf("after an edit: %v; want tenant 1 altered at link 25 (%s)", rep.Breaks, id)
	}
}

// Two runs at once: while one holds a tenant's head the other prunes the
// other tenants instead of waiting; together they prune each link once.
func TestRetentionOverlappingRunsPruneOnce(t *testing.T) {
	t.Parallel()
	app, jobs, _ := databases(t)
	ctx := context.Background()
	for range 3 {
		insert(t, app, ids.New(ids.Tenant), 25, 100*day)
	}
	seal(t, jobs)
	exportUpTo(t, jobs, 1, 75)

	var (
		once    sync.Once
		holding = make(chan struct{})
		bDone   = make(chan struct{})
		waited  bool
	)
	// Run A, on its first locked head, waits for run B to finish (or 10 s
	// if B waits for A: the overlap would then be a queue).
	hold := func(ctx context.Context, _ string) error {
		first := false
		once.Do(func() { first = true })
		if !first {
			return nil
		}
		close(holding)
		select {
		case <-bDone:
		case <-time.After(10 * time.Second):
			waited = true
		}
		return nil
	}
	var wg sync.WaitGroup
	var a, b retention.Summary
	var aErr, bErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		a, aErr = retention.Run(ctx, jobs, retention.Options{BatchRows: 10, AfterPruneLock: hold})
	}()
	go func() {
		defer wg.Done()
		defer close(bDone)
		select {
		case <-holding:
		case <-time.After(10 * time.Second):
			t.Error("run A never held a tenant's head")
		}
		b, bErr = retention.Run(ctx, jobs, retention.Options{BatchRows: 10})
	}()
	wg.Wait()
	if aErr != nil || bErr != nil {
		t.Fatalf("runs: %v; %v", aErr, bErr)
	}
	if waited {
		t.Error("run B waited for run A's tenant instead of pruning the others")
	}
	if a.LinksPruned+b.LinksPruned != 75 || b.LinksPruned == 0 || a.LinksPruned == 0 {
		t.Errorf("pruned %d + %d links; want 75 between them, some by each", a.LinksPruned, b.LinksPruned)
	}
	if rows, links := total(t, jobs); rows != 0 || links != 0 {
		t.Errorf("%d rows, %d links left; want none", rows, links)
	}
	if rep := verify(t, jobs); !rep.OK() || rep.Anchored != 75 || rep.Tenants != 3 {
		t.Fatalf("verify: %+v %v", rep, rep.Breaks)
	}
}
