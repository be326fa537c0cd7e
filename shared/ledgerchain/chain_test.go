package ledgerchain_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

type env struct {
	app, jobs *pg.DB
	info      testenv.PGInfo
	tenants   []string
}

func newEnv(t *testing.T, tenants int) *env {
	t.Helper()
	app, info := testenv.Postgres(t)
	e := &env{app: app, jobs: testenv.JobsDB(t, info), info: info}
	for range tenants {
		e.tenants = append(e.tenants, ids.New(ids.Tenant))
	}
	return e
}

// entry is a row with every optional column exercised somewhere.
func entry(tenant string, at time.Time, i int) activity.Entry {
	e := activity.Entry{TenantID: tenant, OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		OccurredAt: at, Category: activity.CategoryView, Action: "dashboard.viewed", Outcome: activity.OutcomeSuccess,
		LatencyMs: i % 97, RequestID: fmt.Sprintf("req-%d", i)}
	if i%3 != 0 {
		e.PropertyID, e.SessionID = ids.New(ids.Property), ids.New(ids.Session)
	}
	if i%5 == 0 {
		e.Outcome, e.Error = activity.OutcomeFailure, &activity.ErrorInfo{Code: "MELMASTOON.BFF.BACKOFFICE.FORBIDDEN_ROLE", Message: "no"}
		e.Resource = &activity.Ref{Kind: "reservation", ID: ids.New(ids.Reservation)}
	}
	if i%7 == 0 {
		e.ContextHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	}
	return e
}

// insert writes n rows per tenant, occurred age ago, in transactions of 50.
func (e *env) insert(t *testing.T, n int, age time.Duration) {
	t.Helper()
	for _, tn := range e.tenants {
		for i := 0; i < n; i += 50 {
			var es []activity.Entry
			for j := i; j < min(i+50, n); j++ {
				es = append(es, entry(tn, time.Now().Add(-age), j))
			}
			if err := e.app.InTenantTx(context.Background(), tn, func(ctx context.Context, tx pgx.Tx) error {
				return activity.InsertTx(ctx, tx, es...)
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// seal seals until every row is chained. The horizon is the cluster's
// oldest running transaction, in any database: a transaction another test
// holds open holds it back a while.
func (e *env) seal(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := ledgerchain.Seal(ctx, e.jobs, ledgerchain.SealOptions{BatchRows: 37}); err != nil {
			t.Fatal(err)
		}
		var unsealed int
		if err := e.jobs.Pool().QueryRow(ctx, `SELECT count(*) FROM bff.operator_activity a
 WHERE NOT EXISTS (SELECT 1 FROM bff.activity_chain c WHERE c.activity_id = a.id)`).Scan(&unsealed); err != nil {
			t.Fatal(err)
		}
		if unsealed == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows still unsealed after 60 s: a transaction stays open on the cluster", unsealed)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) verify(t *testing.T) *ledgerchain.Report {
	t.Helper()
	rep, err := ledgerchain.VerifyPostgres(context.Background(), e.jobs)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs stmt on the activity rows as their owner with the append-only
// trigger and forced row-level security switched off: what someone holding
// the owner's password could do.
func (e *env) tamper(t *testing.T, stmt string, args ...any) {
	t.Helper()
	e.asOwnerUnguarded(t, []guard{
		{"TRIGGER operator_activity_append_only", "bff.operator_activity"},
		{"ROW LEVEL SECURITY", "bff.operator_activity"},
	}, stmt, args...)
}

// guard is a protection of table that asOwnerUnguarded lifts: a trigger
// ("TRIGGER name", "TRIGGER USER") or "ROW LEVEL SECURITY".
type guard struct{ what, table string }

// asOwnerUnguarded runs stmt, which must change something, as the tables'
// owner with guards lifted, and puts them back.
func (e *env) asOwnerUnguarded(t *testing.T, guards []guard, stmt string, args ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, e.info.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	set := func(on bool) {
		t.Helper()
		for _, g := range guards {
			verb := map[bool]string{true: "ENABLE ", false: "DISABLE "}[on]
			if g.what == "ROW LEVEL SECURITY" {
				verb = map[bool]string{true: "FORCE ", false: "NO FORCE "}[on]
			}
			if _, err := c.Exec(ctx, "ALTER TABLE "+g.table+" "+verb+g.what); err != nil {
				t.Fatal(err)
			}
		}
	}
	set(false)
	tag, err := c.Exec(ctx, stmt, args...)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("%s: %v rows, %v", stmt, tag.RowsAffected(), err)
	}
	set(true)
}

// link returns the activity id and recorded_xid at tenant's link seq.
func (e *env) link(t *testing.T, tenant string, seq int64) (id, xid string) {
	t.Helper()
	if err := e.jobs.Pool().QueryRow(context.Background(),
		"SELECT activity_id, recorded_xid::text FROM bff.activity_chain WHERE tenant_id = $1 AND seq = $2", tenant, seq).Scan(&id, &xid); err != nil {
		t.Fatal(err)
	}
	return id, xid
}

func wantBreak(t *testing.T, rep *ledgerchain.Report, tenant string, kind ledgerchain.Kind, seq int64, id string) {
	t.Helper()
	if len(rep.Breaks) != 1 {
		t.Fatalf("%s report: breaks %v, want exactly one (tenant %s)", rep.Source, rep.Breaks, tenant)
	}
	b := rep.Breaks[0]
	if b.TenantID != tenant || b.Kind != kind || b.Seq != seq || (id != "" && b.ActivityID != id) {
		t.Fatalf("%s report: break %v; want %s at link %d (%s) of tenant %s", rep.Source, b, kind, seq, id, tenant)
	}
}

func TestSealedChainsVerifyClean(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	e.insert(t, 120, time.Minute)
	e.seal(t)
	e.insert(t, 30, 0) // a second seal extends the chains
	e.seal(t)
	rep := e.verify(t)
	if !rep.OK() || rep.Rows != 450 || rep.Tenants != 3 || rep.Pruned != 0 {
		t.Fatalf("report %+v; want 450 rows of 3 tenants, no break", rep)
	}
	for _, tn := range e.tenants {
		var seq int64
		var h []byte
		if err := e.jobs.Pool().QueryRow(context.Background(), "SELECT seq, chain_hash FROM bff.activity_chain_head WHERE tenant_id = $1", tn).Scan(&seq, &h); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d:%s", seq, hex.EncodeToString(h)); seq != 150 || rep.Heads[tn] != want {
			t.Errorf("tenant %s: head %d, report head %q; want 150 and %q", tn, seq, rep.Heads[tn], want)
		}
	}
	// Sealing again with nothing new changes nothing.
	sum, err := ledgerchain.Seal(context.Background(), e.jobs, ledgerchain.SealOptions{})
	if err != nil || sum.Rows != 0 {
		t.Fatalf("idle seal: %+v, %v", sum, err)
	}
}

// tamperRow is the tampering of TestVerifyFindsTampering that runs stmt as
// the owner on the row of link seq ($1 its id), which verification must
// then report as kind at that link.
func tamperRow(seq int64, stmt string, kind ledgerchain.Kind) func(*testing.T, *env, string) (ledgerchain.Kind, int64, string) {
	return func(t *testing.T, e *env, tn string) (ledgerchain.Kind, int64, string) {
		id, _ := e.link(t, tn, seq)
		e.tamper(t, stmt, id)
		return kind, seq, id
	}
}

// Each kind of tampering as the owner is reported, at the tenant and link
// where it happened; the other tenants still verify.
func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		do   func(t *testing.T, e *env, tenant string) (ledgerchain.Kind, int64, string)
	}{
		{"altered row", tamperRow(17, "UPDATE bff.operator_activity SET latency_ms = latency_ms + 1 WHERE id = $1", ledgerchain.Altered)},
		{"altered time", tamperRow(33, "UPDATE bff.operator_activity SET occurred_at = occurred_at - interval '1 ms' WHERE id = $1", ledgerchain.Altered)},
		{"deleted row", tamperRow(20, "DELETE FROM bff.operator_activity WHERE id = $1", ledgerchain.Deleted)},
		{"reordered pair", func(t *testing.T, e *env, tn string) (ledgerchain.Kind, int64, string) {
			// Links 50 and 51: the last row of one transaction and the
			// first of the next.
			a, xa := e.link(t, tn, 50)
			b, xb := e.link(t, tn, 51)
			if xa == xb {
				// Same transaction: order within it is by id; swap the
				// ids' places by moving the first after the second.
				t.Fatalf("links 50 and 51 are in one transaction (%s)", xa)
			}
			e.tamper(t, `UPDATE bff.operator_activity SET recorded_xid = CASE id WHEN $1 THEN $4::xid8 ELSE $3::xid8 END
 WHERE id IN ($1, $2)`, a, b, xa, xb)
			return ledgerchain.Reordered, 50, a
		}},
		{"row slipped in", func(t *testing.T, e *env, tn string) (ledgerchain.Kind, int64, string) {
			id := ids.New(ids.Activity)
			model, _ := e.link(t, tn, 5)
			e.tamper(t, `INSERT INTO bff.operator_activity (id, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id, recorded_xid)
SELECT $1, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id, recorded_xid
  FROM bff.operator_activity WHERE id = $2`, id, model)
			return ledgerchain.Inserted, 0, id
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2)
			e.insert(t, 60, time.Minute)
			e.seal(t)
			if rep := e.verify(t); !rep.OK() {
				t.Fatalf("before tampering: %v", rep.Breaks)
			}
			kind, seq, id := c.do(t, e, e.tenants[1])
			rep := e.verify(t)
			wantBreak(t, rep, e.tenants[1], kind, seq, id)
			if _, ok := rep.Heads[e.tenants[0]]; !ok {
				t.Errorf("the untouched tenant was not verified: %v", rep.Heads)
			}
		})
	}
}

// Many writers on every path (group-commit ledgers as separate instances,
// rows inside actions' transactions, some rolled back) while two sealers
// run over and over: every committed row ends up in exactly one link, each
// tenant's chain has no gap and verifies.
func TestChainHoldsUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	ctx := context.Background()
	ledgers := []*activity.Ledger{activity.NewLedger(e.app, activity.Options{}), activity.NewLedger(e.app, activity.Options{})}
	defer ledgers[0].Close()
	defer ledgers[1].Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := ledgerchain.Seal(ctx, e.jobs, ledgerchain.SealOptions{BatchRows: 50}); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	var writers sync.WaitGroup
	const perWriter = 60
	for w := range 12 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			tn := e.tenants[w%len(e.tenants)]
			for i := range perWriter {
				en := entry(tn, time.Time{}, w*1000+i)
				var err error
				switch {
				case w%3 == 0:
					err = e.app.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
						return activity.InsertTx(ctx, tx, en)
					})
				case w%3 == 1:
					// An action that fails after writing its row: the
					// row must never be chained.
					_ = e.app.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
						if err := activity.InsertTx(ctx, tx, en); err != nil {
							return err
						}
						return fmt.Errorf("the action failed")
					})
					en.ID = ""
					err = ledgers[w%2].Record(ctx, en)
				default:
					err = ledgers[w%2].Record(ctx, en)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	e.seal(t)
	rep := e.verify(t)
	if !rep.OK() || rep.Rows != 12*perWriter {
		t.Fatalf("report %+v (breaks %v); want %d rows, no break", rep, rep.Breaks, 12*perWriter)
	}
	var links, distinct int
	if err := e.jobs.Pool().QueryRow(ctx, "SELECT count(*), count(DISTINCT activity_id) FROM bff.activity_chain").Scan(&links, &distinct); err != nil {
		t.Fatal(err)
	}
	if links != 12*perWriter || distinct != links {
		t.Fatalf("%d links over %d rows; want one per row (%d)", links, distinct, 12*perWriter)
	}
}

// Retention takes old exported rows out of the middle of the chains: the
// verification counts them as pruned, not deleted; a young row deleted the
// same way is a deletion.
func TestVerifyCopesWithRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	e.insert(t, 30, 100*24*time.Hour)
	e.insert(t, 10, time.Hour)
	e.seal(t)
	// export-activity's bookkeeping: everything is in BigQuery.
	if _, err := e.jobs.Pool().Exec(ctx, `INSERT INTO bff.activity_export_batch (seq, from_xid, from_id, to_xid, to_id, row_count, exported_at)
SELECT 1, '0'::xid8, '', recorded_xid, id, 80, now() FROM bff.operator_activity ORDER BY recorded_xid DESC, id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	// What retention does (the database's policy picks the rows).
	tag, err := e.jobs.Pool().Exec(ctx, "DELETE FROM bff.operator_activity")
	if err != nil || tag.RowsAffected() != 60 {
		t.Fatalf("retention deleted %d, %v; want 60", tag.RowsAffected(), err)
	}
	rep := e.verify(t)
	if !rep.OK() || rep.Pruned != 60 || rep.Rows != 20 {
		t.Fatalf("after retention: %+v %v; want 60 pruned, 20 verified, no break", rep, rep.Breaks)
	}
	// More rows after the pruning chain on.
	e.insert(t, 5, 0)
	e.seal(t)
	if rep := e.verify(t); !rep.OK() || rep.Rows != 30 {
		t.Fatalf("after new rows: %+v %v", rep, rep.Breaks)
	}
	id, _ := e.link(t, e.tenants[0], 33) // hot (inserted second)
	e.tamper(t, "DELETE FROM bff.operator_activity WHERE id = $1", id)
	wantBreak(t, e.verify(t), e.tenants[0], ledgerchain.Deleted, 33, id)
}

// exported builds the rows export-activity would load, from Postgres.
func (e *env) exported(t *testing.T) []ledgerchain.Exported {
	t.Helper()
	rows, err := e.jobs.Pool().Query(context.Background(), `SELECT a.id, a.tenant_id, a.property_id, a.operator_id, a.device_id, a.session_id, a.occurred_at,
       a.category, a.action, a.resource_kind, a.resource_id, a.outcome, a.latency_ms, a.error_code, a.error_message,
       a.context_hash, a.request_id, c.seq, encode(c.prev_hash, 'hex'), encode(c.chain_hash, 'hex')
  FROM bff.operator_activity a JOIN bff.activity_chain c ON c.activity_id = a.id ORDER BY a.recorded_xid, a.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledgerchain.Exported
	for rows.Next() {
		var x ledgerchain.Exported
		var at time.Time
		var rk, rid, ec, em *string
		var seq int64
		var prev, chain string
		if err := rows.Scan(&x.ID, &x.TenantID, &x.PropertyID, &x.OperatorID, &x.DeviceID, &x.SessionID, &at,
			&x.Category, &x.Action, &rk, &rid, &x.Outcome, &x.LatencyMs, &ec, &em, &x.ContextHash, &x.RequestID,
			&seq, &prev, &chain); err != nil {
			t.Fatal(err)
		}
		x.OccurredAt = at.UTC().Format(time.RFC3339Nano)
		if rk != nil {
			x.ResourceRef = &ledgerchain.ExportedRef{Kind: *rk, ID: *rid}
		}
		if ec != nil {
			x.Error = &ledgerchain.ExportedErr{Code: *ec, Message: em}
		}
		x.ChainSeq, x.PrevHash, x.ChainHash = &seq, &prev, &chain
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyExported(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.insert(t, 40, time.Minute)
	e.seal(t)
	base := e.exported(t)
	if rep := ledgerchain.VerifyExported(base); !rep.OK() || rep.Rows != 80 {
		t.Fatalf("clean export: %+v %v", rep, rep.Breaks)
	}
	pg := e.verify(t)
	if rep := ledgerchain.VerifyExported(base); fmt.Sprint(rep.Heads) != fmt.Sprint(pg.Heads) {
		t.Fatalf("the export's heads %v differ from Postgres's %v", rep.Heads, pg.Heads)
	}
	tn := e.tenants[1]
	at := func(rows []ledgerchain.Exported, seq int64) int {
		for i, r := range rows {
			if r.TenantID == tn && *r.ChainSeq == seq {
				return i
			}
		}
		t.Fatalf("no link %d", seq)
		return -1
	}
	t.Run("altered", func(t *testing.T) {
		rows := append([]ledgerchain.Exported(nil), base...)
		i := at(rows, 12)
		rows[i].Action = "dashboard.hidden"
		wantBreak(t, ledgerchain.VerifyExported(rows), tn, ledgerchain.Altered, 12, rows[i].ID)
	})
	t.Run("deleted", func(t *testing.T) {
		rows := append([]ledgerchain.Exported(nil), base...)
		i := at(rows, 12)
		rows = append(rows[:i], rows[i+1:]...)
		wantBreak(t, ledgerchain.VerifyExported(rows), tn, ledgerchain.Deleted, 12, "")
	})
	t.Run("reordered pair", func(t *testing.T) {
		rows := append([]ledgerchain.Exported(nil), base...)
		i, j := at(rows, 12), at(rows, 13)
		s12, s13 := *rows[i].ChainSeq, *rows[j].ChainSeq
		rows[i].ChainSeq, rows[j].ChainSeq = &s13, &s12
		wantBreak(t, ledgerchain.VerifyExported(rows), tn, ledgerchain.Reordered, 12, rows[j].ID)
	})
}

// A seal transaction hashes its rows in Go between statements, idle in the
// database meanwhile; on a busy instance that outlasts the pool's
// idle-in-transaction timeout (the statement timeout, seconds). The seal's
// transactions carry their own bound: each sits idle 1.5 s here on a pool
// that ends idle transactions after 1 s, and the seal still completes.
func TestSealOutlastsThePoolsIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.insert(t, 60, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	jobs, err := pg.Open(ctx, pg.Config{URL: e.info.JobsURL, MaxConns: 2, StatementTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close()
	var idled int
	slow := func(ctx context.Context) error {
		idled++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(1500 * time.Millisecond):
			return nil
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	var sealed int64
	for sealed < 120 {
		sum, err := ledgerchain.Seal(ctx, jobs, ledgerchain.SealOptions{BatchRows: 50, AfterHash: slow})
		if err != nil {
			t.Fatalf("seal after %d idle gaps: %v", idled, err)
		}
		sealed += sum.Rows
		if sum.Rows == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of 120 rows sealed after 60 s: a transaction stays open on the cluster", sealed)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if idled < 3 {
		t.Fatalf("%d idle gaps, want one per 50-row batch", idled)
	}
	if rep := e.verify(t); !rep.OK() || rep.Rows != 120 {
		t.Fatalf("after the slow seal: %d rows, breaks %v", rep.Rows, rep.Breaks)
	}
}
