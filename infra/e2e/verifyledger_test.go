package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/functions/export-activity/export"
	verifyledger "github.com/melmastoon/bff-backoffice/functions/verify-ledger"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// verifyEnv is an exported ledger with the fake served over HTTP, so
// verify-ledger reads it back through the official client's query path.
type verifyEnv struct {
	*exportEnv
	url string
	cfg verifyledger.Config
}

func newVerifyEnv(t *testing.T, rows int) *verifyEnv {
	t.Helper()
	x := newExportEnv(t)
	srv := httptest.NewServer(x.bq)
	t.Cleanup(srv.Close)
	x.insert(t, rows)
	x.waitExportable(t, rows)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if sum, err := x.run(ctx, export.Options{BatchRows: 100}); err != nil || sum.Rows != int64(rows) {
		t.Fatalf("export: %+v, %v", sum, err)
	}
	// Small pages: the read goes through several getQueryResults calls.
	return &verifyEnv{exportEnv: x, url: srv.URL,
		cfg: verifyledger.Config{BigQuery: setup.BigQuery{Project: "audit-proj", Dataset: "melmastoon_audit", Table: "operator_activity", Location: "US"}, PageRows: 70}}
}

func (v *verifyEnv) run(t *testing.T) (verifyledger.Summary, string) {
	t.Helper()
	var logs bytes.Buffer
	sum, err := verifyledger.Run(context.Background(), v.jobs, v.client, v.cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return sum, logs.String()
}

// exportedLink is the exported row at tenant's link seq.
func (v *verifyEnv) exportedLink(t *testing.T, tenant string, seq int64) map[string]any {
	t.Helper()
	for _, raw := range v.bq.Rows("melmastoon_audit", "operator_activity") {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m["tenantId"] == tenant && m["chainSeq"] == float64(seq) {
			return m
		}
	}
	t.Fatalf("no exported row at tenant %s link %d", tenant, seq)
	return nil
}

func (v *verifyEnv) control(t *testing.T, method, id, body string) {
	t.Helper()
	req, err := http.NewRequest(method, v.url+"/__tables/melmastoon_audit/operator_activity/rows/"+id, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("%s row %s = %d", method, id, res.StatusCode)
	}
}

// A clean export verifies over Postgres and BigQuery alike, read in pages;
// then a row edited in BigQuery, one deleted and a reordered pair (each in
// its own tenant) are each reported as that tenant's first break, with its
// kind and link, and logged at ERROR; Postgres still verifies.
func TestVerifyLedgerReadsTheExportBack(t *testing.T) {
	t.Parallel()
	v := newVerifyEnv(t, 900) // 300 a tenant
	sum, _ := v.run(t)
	if !sum.OK || sum.Rows != 900 || sum.Export == nil || sum.Export.Rows != 900 || len(sum.Export.Breaks) != 0 {
		t.Fatalf("clean: %+v export %+v", sum.Report, sum.Export)
	}
	for tn, h := range sum.Heads {
		if sum.Export.Heads[tn] != h {
			t.Fatalf("tenant %s: head %s in Postgres, %s exported", tn, h, sum.Export.Heads[tn])
		}
	}
	// 900 rows in pages of 70: the client sets the jobs.query answer's
	// rows aside when the page size differs and reads 13 pages.
	var pages int64
	for k, n := range v.bq.Stats() {
		if strings.HasPrefix(k, "GET /bigquery/v2/projects/audit-proj/queries/") {
			pages += n
		}
	}
	if q := v.bq.Count(http.MethodPost, "/bigquery/v2/projects/audit-proj/queries"); q != 1 || pages != 13 {
		t.Fatalf("%d queries and %d more pages, want 1 and 13: %v", q, pages, v.bq.Stats())
	}

	edited := v.exportedLink(t, v.tenants[0], 17)
	v.control(t, http.MethodPatch, edited["id"].(string), `{"action": "reservation.cancelled"}`)
	deleted := v.exportedLink(t, v.tenants[1], 40)
	v.control(t, http.MethodDelete, deleted["id"].(string), "")
	a, b := v.exportedLink(t, v.tenants[2], 8), v.exportedLink(t, v.tenants[2], 9)
	v.control(t, http.MethodPatch, a["id"].(string), `{"chainSeq": 9}`)
	v.control(t, http.MethodPatch, b["id"].(string), `{"chainSeq": 8}`)

	sum, logs := v.run(t)
	if sum.OK || !sum.Report.OK() {
		t.Fatalf("after tampering in BigQuery: ok %v, postgres breaks %v", sum.OK, sum.Breaks)
	}
	want := map[string]ledgerchain.Break{
		v.tenants[0]: {TenantID: v.tenants[0], Seq: 17, ActivityID: edited["id"].(string), Kind: ledgerchain.Altered},
		v.tenants[1]: {TenantID: v.tenants[1], Seq: 40, Kind: ledgerchain.Deleted},
		v.tenants[2]: {TenantID: v.tenants[2], Seq: 8, ActivityID: b["id"].(string), Kind: ledgerchain.Reordered},
	}
	if len(sum.Export.Breaks) != 3 {
		t.Fatalf("export breaks %v, want 3", sum.Export.Breaks)
	}
	for _, got := range sum.Export.Breaks {
		w := want[got.TenantID]
		if got.Seq != w.Seq || got.Kind != w.Kind || w.ActivityID != "" && got.ActivityID != w.ActivityID {
			t.Errorf("break %+v, want %+v", got, w)
		}
		if !strings.Contains(logs, fmt.Sprintf(`"source":"export","tenantId":%q,"seq":%d`, got.TenantID, got.Seq)) {
			t.Errorf("no ERROR record of %v in:\n%s", got, logs)
		}
	}
}

// A row deleted from Postgres behind the triggers' back is reported over
// Postgres, while the export (which still holds it) verifies.
func TestVerifyLedgerFindsAPostgresDeletion(t *testing.T) {
	t.Parallel()
	v := newVerifyEnv(t, 300)
	victim := v.exportedLink(t, v.tenants[0], 4)["id"].(string)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, v.info.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	for _, s := range []string{
		"ALTER TABLE bff.operator_activity DISABLE TRIGGER operator_activity_append_only",
		"ALTER TABLE bff.operator_activity NO FORCE ROW LEVEL SECURITY",
		"DELETE FROM bff.operator_activity WHERE id = '" + victim + "'",
	} {
		if _, err := owner.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	sum, logs := v.run(t)
	if sum.OK || len(sum.Breaks) != 1 || !sum.Export.OK() {
		t.Fatalf("after a deletion: postgres %v export %v", sum.Breaks, sum.Export.Breaks)
	}
	if b := sum.Breaks[0]; b.TenantID != v.tenants[0] || b.Seq != 4 || b.ActivityID != victim || b.Kind != ledgerchain.Deleted {
		t.Fatalf("break %+v", b)
	}
	if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, `"kind":"deleted"`) {
		t.Fatalf("no ERROR record in:\n%s", logs)
	}
}
