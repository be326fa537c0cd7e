package ledgerchain_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
)

const day = 24 * time.Hour

// exportAll records, as export-activity does once BigQuery has them, that
// every row is exported.
func (e *env) exportAll(t *testing.T) {
	t.Helper()
	if _, err := e.jobs.Pool().Exec(context.Background(), `INSERT INTO bff.activity_export_batch (seq, from_xid, from_id, to_xid, to_id, row_count, exported_at)
SELECT coalesce((SELECT max(seq) FROM bff.activity_export_batch), 0) + 1, '0'::xid8, '', recorded_xid, id, 1, now()
  FROM bff.operator_activity ORDER BY recorded_xid DESC, id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
}

// sealedAndExported is an env of n tenants, each with old rows (past the
// 90 days) and young ones, all sealed and exported: what pruning starts
// from.
func sealedAndExported(t *testing.T, n, old, young int) *env {
	t.Helper()
	e := newEnv(t, n)
	e.insert(t, old, 100*day)
	e.insert(t, young, time.Hour)
	e.seal(t)
	e.exportAll(t)
	return e
}

// retain deletes what retention may (the database's policy picks the rows).
func (e *env) retain(t *testing.T, want int64) {
	t.Helper()
	tag, err := e.jobs.Pool().Exec(context.Background(), "DELETE FROM bff.operator_activity")
	if err != nil || tag.RowsAffected() != want {
		t.Fatalf("retention deleted %d rows, %v; want %d", tag.RowsAffected(), err, want)
	}
}

func (e *env) links(t *testing.T, tenant string) (n, first int64) {
	t.Helper()
	if err := e.jobs.Pool().QueryRow(context.Background(), "SELECT count(*), coalesce(min(seq), 0) FROM bff.activity_chain WHERE tenant_id = $1", tenant).Scan(&n, &first); err != nil {
		t.Fatal(err)
	}
	return n, first
}

func (e *env) anchor(t *testing.T, tenant string) (int64, []byte) {
	t.Helper()
	var s int64
	var h []byte
	if err := e.jobs.Pool().QueryRow(context.Background(), "SELECT anchor_seq, anchor_hash FROM bff.activity_chain_head WHERE tenant_id = $1", tenant).Scan(&s, &h); err != nil {
		t.Fatal(err)
	}
	return s, h
}

func (e *env) chainHash(t *testing.T, tenant string, seq int64) []byte {
	t.Helper()
	var h []byte
	if err := e.jobs.Pool().QueryRow(context.Background(), "SELECT chain_hash FROM bff.activity_chain WHERE tenant_id = $1 AND seq = $2", tenant, seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// Rows exported, sealed, past 90 days and deleted by retention: their
// links go, the anchors stand where they were, and the rest still
// verifies from there, tampering included.
func TestPruneKeepsTheChainVerifiable(t *testing.T) {
	t.Parallel()
	e := sealedAndExported(t, 2, 30, 10)
	ctx := context.Background()
	want := map[string][]byte{}
	for _, tn := range e.tenants {
		want[tn] = e.chainHash(t, tn, 30)
	}
	e.retain(t, 60)
	sum, err := ledgerchain.Prune(ctx, e.jobs, ledgerchain.PruneOptions{BatchLinks: 7})
	if err != nil || sum.Links != 60 || sum.Batches != 10 || len(sum.Held) != 0 || sum.More {
		t.Fatalf("prune: %+v, %v; want 60 links in 10 batches", sum, err)
	}
	for _, tn := range e.tenants {
		if n, first := e.links(t, tn); n != 10 || first != 31 {
			t.Errorf("tenant %s: %d links from %d; want 10 from 31", tn, n, first)
		}
		if s, h := e.anchor(t, tn); s != 30 || string(h) != string(want[tn]) {
			t.Errorf("tenant %s: anchor %d %x; want 30 %x", tn, s, h, want[tn])
		}
	}
	rep := e.verify(t)
	if !rep.OK() || rep.Rows != 20 || rep.Pruned != 0 || rep.Anchored != 60 || rep.Tenants != 2 {
		t.Fatalf("after pruning: %+v %v; want 20 rows, 60 anchored, no break", rep, rep.Breaks)
	}
	if sum, err := ledgerchain.Prune(ctx, e.jobs, ledgerchain.PruneOptions{}); err != nil || sum.Links != 0 {
		t.Fatalf("idle prune: %+v, %v", sum, err)
	}
	e.insert(t, 5, 0)
	e.seal(t)
	if rep := e.verify(t); !rep.OK() || rep.Rows != 30 {
		t.Fatalf("after new rows: %+v %v", rep, rep.Breaks)
	}
	// The first link after the anchor chains from the anchor's hash: an
	// edit there is found, as one further on.
	id, _ := e.link(t, e.tenants[0], 31)
	e.tamper(t, "UPDATE bff.operator_activity SET action = 'dashboard.hidden' WHERE id = $1", id)
	wantBreak(t, e.verify(t), e.tenants[0], ledgerchain.Altered, 31, id)
}

// A row retention would not have deleted (young) stops the pruning at its
// link and is still reported; so is a link that does not chain, which the
// pruning leaves in place.
func TestPruneLeavesBreaksInPlace(t *testing.T) {
	t.Parallel()
	e := sealedAndExported(t, 3, 30, 10)
	ctx := context.Background()
	// Tenant 1: its first young row deleted by the owner.
	young, _ := e.link(t, e.tenants[1], 31)
	e.tamper(t, "DELETE FROM bff.operator_activity WHERE id = $1", young)
	// Tenant 2: an old link's record rewritten by the owner.
	e.tamperChain(t, "UPDATE bff.activity_chain SET row_hash = prev_hash WHERE tenant_id = $1 AND seq = 12", e.tenants[2])
	e.retain(t, 90)
	sum, err := ledgerchain.Prune(ctx, e.jobs, ledgerchain.PruneOptions{BatchLinks: 100})
	if err != nil || sum.Links != 30+30+11 || len(sum.Held) != 1 || sum.Held[0] != e.tenants[2] {
		t.Fatalf("prune: %+v, %v; want 71 links, tenant 2 held", sum, err)
	}
	if s, _ := e.anchor(t, e.tenants[1]); s != 30 {
		t.Errorf("tenant 1 anchored at %d; want 30 (before the deleted young row)", s)
	}
	if s, _ := e.anchor(t, e.tenants[2]); s != 11 {
		t.Errorf("tenant 2 anchored at %d; want 11 (before the broken link)", s)
	}
	rep := e.verify(t)
	if len(rep.Breaks) != 2 {
		t.Fatalf("breaks %v; want tenant 1's deletion and tenant 2's link", rep.Breaks)
	}
	got := map[string]ledgerchain.Break{}
	for _, b := range rep.Breaks {
		got[b.TenantID] = b
	}
	if b := got[e.tenants[1]]; b.Kind != ledgerchain.Deleted || b.Seq != 31 || b.ActivityID != young {
		t.Errorf("tenant 1: %v; want deleted at 31 (%s)", b, young)
	}
	if b := got[e.tenants[2]]; b.Kind != ledgerchain.Link || b.Seq != 12 {
		t.Errorf("tenant 2: %v; want a link break at 12", b)
	}
	if _, ok := rep.Heads[e.tenants[0]]; !ok || got[e.tenants[0]].Kind != "" {
		t.Errorf("tenant 0 should verify: %v", rep.Breaks)
	}
}

// tamperChain runs stmt on the links as their owner, the append-only
// triggers and forced row-level security off.
func (e *env) tamperChain(t *testing.T, stmt string, args ...any) {
	t.Helper()
	var guards []guard
	for _, table := range []string{"bff.activity_chain", "bff.activity_chain_head"} {
		guards = append(guards, guard{"TRIGGER USER", table}, guard{"ROW LEVEL SECURITY", table})
	}
	e.asOwnerUnguarded(t, guards, stmt, args...)
}

func wantRefused(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" || !strings.Contains(pe.Message, msg) {
		t.Errorf("%s: %v; want insufficient_privilege, %q", what, err, msg)
	}
}

// The database, not the job, decides which links may go: a buggy caller
// in the jobs role is refused, whatever its statements ask.
func TestPruneGuardedByTheDatabase(t *testing.T) {
	t.Parallel()
	e := sealedAndExported(t, 1, 20, 5)
	ctx := context.Background()
	tn := e.tenants[0]
	e.retain(t, 20)
	jobs := func(stmts ...string) error {
		return e.jobs.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			for _, s := range stmts {
				if _, err := tx.Exec(ctx, s, tn); err != nil {
					return err
				}
			}
			return nil
		})
	}
	setAnchor := func(seq int64) string {
		return "UPDATE bff.activity_chain_head SET anchor_seq = " + strconv.FormatInt(seq, 10) +
			", anchor_hash = (SELECT chain_hash FROM bff.activity_chain WHERE tenant_id = $1 AND seq = " + strconv.FormatInt(seq, 10) + ") WHERE tenant_id = $1"
	}

	wantRefused(t, "delete a link whose row exists", jobs("DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 21"), "beyond its anchor")
	wantRefused(t, "delete a pruned row's link beyond the anchor", jobs("DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 5"), "beyond its anchor")
	wantRefused(t, "delete every link", jobs("DELETE FROM bff.activity_chain WHERE tenant_id = $1"), "beyond its anchor")
	wantRefused(t, "advance without deleting", jobs(setAnchor(10)), "must be deleted in the transaction")
	wantRefused(t, "an anchor over rows still there", jobs(setAnchor(22), "DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq <= 22"), "may not pass links")
	wantRefused(t, "an anchor with another hash", jobs(
		"UPDATE bff.activity_chain_head SET anchor_seq = 10, anchor_hash = (SELECT chain_hash FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 9) WHERE tenant_id = $1",
		"DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq <= 10"), "chain hash")
	if n, _ := e.links(t, tn); n != 25 {
		t.Fatalf("%d links after refused statements; want 25", n)
	}
	// What retention does, by hand: allowed.
	if err := jobs(setAnchor(10), "DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq <= 10"); err != nil {
		t.Fatalf("a proper prune: %v", err)
	}
	wantRefused(t, "an anchor moved back", jobs("UPDATE bff.activity_chain_head SET anchor_seq = 5 WHERE tenant_id = $1"), "only advances")
	wantRefused(t, "a new head anchored", jobs(`INSERT INTO bff.activity_chain_head (tenant_id, seq, chain_hash, anchor_seq, anchor_hash)
VALUES ($1 || 'x', 3, '\x0000000000000000000000000000000000000000000000000000000000000001', 2, '\x0000000000000000000000000000000000000000000000000000000000000001')`), "starts unanchored")
	wantRefused(t, "update a link", jobs("UPDATE bff.activity_chain SET row_hash = prev_hash WHERE tenant_id = $1 AND seq = 15"), "permission denied")

	// An anchor the owner moved over live rows (bypassing its guard) still
	// does not let the jobs role delete a link whose row is there.
	e.tamperChain(t, setAnchor(22), tn)
	wantRefused(t, "delete a link whose row exists, behind the anchor", jobs("DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 21"), "still has its row")

	// Nobody else deletes a link at all.
	c, err := pgx.Connect(ctx, e.info.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 11", tn)
	wantRefused(t, "the owner deletes a link", err, "append-only")
	err = e.app.InTenantTx(ctx, tn, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM bff.activity_chain WHERE tenant_id = $1 AND seq = 11", tn)
		return err
	})
	wantRefused(t, "the app role deletes a link", err, "permission denied")
}
