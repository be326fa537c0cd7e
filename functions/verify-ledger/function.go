// Package verifyledger is the `verify-ledger` scheduled function: Cloud
// Scheduler POSTs to it (37 4 * * *, UTC; OIDC, invoker account only) and,
// as the jobs role, it recomputes every tenant's hash chain twice
// (shared/ledgerchain): over the operator activity ledger in Postgres (each
// row against its link, each link against the one before, rows slipped in
// behind the seal, links whose rows are gone without retention having
// taken them), and over the rows export-activity loaded into BigQuery
// (melmastoon_audit.operator_activity), read back with one query sorted by
// tenant and link, page by page, so the job holds one page and one
// tenant's position, never the table. A break is logged at ERROR (one
// entry per broken tenant and source, with the tenant, the link and what
// broke: the alert to page on) and returned in the 200 answer; it is not a
// failed run, since a retry would find the same break.
package verifyledger

import (
	"context"
	"fmt"
	"log/slog"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ledgerchain"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Config is where the exported rows are (deploy.sh sets it from
// terraform/bigquery.tf, as for export-activity).
type Config struct {
	setup.BigQuery
	// PageRows is the rows per page of the query's answer: what the job
	// holds at once.
	PageRows int `env:"VERIFY_PAGE_ROWS, default=5000"`
}

// Validate checks the job's own settings and where BigQuery is.
func (c *Config) Validate() error {
	if c.PageRows < 1 || c.PageRows > 100_000 {
		return fmt.Errorf("VERIFY_PAGE_ROWS must be within 1..100000")
	}
	return c.BigQuery.Validate()
}

// Function is the `verify-ledger` function as deployed.
var Function = boot.Function{Name: "verify-ledger", EntryPoint: "VerifyLedger", StartHTTP: setup.BigQueryJob("verify-ledger", bigquery.NewClient,
	func(cfg Config, bq *bigquery.Client, log *slog.Logger, j *setup.Jobs) setup.Run {
		return func(ctx context.Context) (any, error) { return Run(ctx, j.DB, bq, cfg, log) }
	})}

func init() { Function.Register() }

// Summary is what one run found, as the run's 200 answer: the Postgres
// report's fields at the top (as before the export was read), the
// export's under "export". OK when both verified.
type Summary struct {
	OK bool `json:"ok"`
	*ledgerchain.Report
	Export *ledgerchain.Report `json:"export"`
}

// Run verifies the ledger's chains over db (the jobs role's pool) and over
// the rows exported to cfg's table.
func Run(ctx context.Context, db *pg.DB, bq *bigquery.Client, cfg Config, log *slog.Logger) (_ Summary, err error) {
	defer derrors.Wrap(&err, "verifyledger.Run")
	rep, err := ledgerchain.VerifyPostgres(ctx, db)
	if err != nil {
		return Summary{}, err
	}
	xrep, err := VerifyExported(ctx, bq, cfg)
	if err != nil {
		return Summary{}, err
	}
	for _, r := range []*ledgerchain.Report{rep, xrep} {
		for _, b := range r.Breaks {
			log.ErrorContext(ctx, "activity ledger: hash chain broken", "source", r.Source, "tenantId", b.TenantID, "seq", b.Seq,
				"activityId", b.ActivityID, "kind", string(b.Kind), "detail", b.Detail)
		}
		log.InfoContext(ctx, "activity ledger: chains verified", "source", r.Source, "tenants", r.Tenants, "rows", r.Rows,
			"pruned", r.Pruned, "anchored", r.Anchored, "breaks", len(r.Breaks))
	}
	return Summary{OK: rep.OK() && xrep.OK(), Report: rep, Export: xrep}, nil
}

// chainSQL reads the exported chain in the order ExportedWalk needs;
// BigQuery sorts, the job only walks.
const chainSQL = "SELECT * FROM `%s.%s.%s` WHERE chainSeq IS NOT NULL ORDER BY tenantId, chainSeq"

// VerifyExported recomputes each tenant's chain over the rows in cfg's
// BigQuery table, streamed page by page.
func VerifyExported(ctx context.Context, bq *bigquery.Client, cfg Config) (_ *ledgerchain.Report, err error) {
	defer derrors.Wrap(&err, "verifyledger.VerifyExported")
	q := bq.Query(fmt.Sprintf(chainSQL, cfg.Project, cfg.Dataset, cfg.Table))
	q.Location = cfg.Location
	it, err := q.Read(ctx)
	if err != nil {
		return nil, err
	}
	it.PageInfo().MaxSize = cfg.PageRows
	walk := ledgerchain.NewExportedWalk()
	for {
		var row map[string]bigquery.Value
		err := it.Next(&row)
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, err
		}
		e, err := exported(row)
		if err != nil {
			return nil, err
		}
		if err := walk.Add(&e); err != nil {
			return nil, err
		}
	}
	return walk.Report(), nil
}
