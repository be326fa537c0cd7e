package e2e

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
)

// With the ledger unreachable, a request is refused (503, retryable) rather
// than answered without its activity row, and the session it would have
// opened is not left behind without its `auth` row.
func TestLedgerOutageRefusesRatherThanLosesRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn, op := e.operator(0, hasRole("front_desk"))
	tok := e.mint(tn, op, 0, nil)

	u, err := url.Parse(e.pg.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/postgres"
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{e.pg.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}

	r := e.do("GET", "/v1/session", tok, "")
	if r.StatusCode != 503 || r.problem(t) != "MELMASTOON.BFF.BACKOFFICE.UPSTREAM_UNAVAILABLE" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("GET with the ledger down = %d %s, want 503 UPSTREAM_UNAVAILABLE with Retry-After", r.StatusCode, r.body)
	}
	n, err := e.rdb.Exists(ctx, e.rdb.Key("sessidx", tn.ID, op.ID, op.Devices[0].ID)).Result()
	if err != nil || n != 0 {
		t.Fatalf("session index exists = %d (%v); an unrecorded session must be discarded", n, err)
	}
}
