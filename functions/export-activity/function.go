// Package exportactivity is the `export-activity` scheduled function:
// Cloud Scheduler POSTs to it (*/10 * * * *, UTC; OIDC, invoker account
// only) and, as the jobs role, it copies the operator activity ledger from
// Postgres to BigQuery (melmastoon_audit.operator_activity) exactly once
// (shared/activity/export): batch by batch after the watermark, each under
// a deterministic load job id, the watermark moved only once BigQuery has
// the rows. A run that overlaps another answers 200 {"skipped": true}.
package exportactivity

import (
	"context"
	"fmt"
	"log/slog"

	"cloud.google.com/go/bigquery"

	"github.com/melmastoon/bff-backoffice/functions/export-activity/export"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Config is the job's BigQuery configuration (deploy.sh sets it from
// terraform/bigquery.tf).
type Config struct {
	setup.BigQuery
	BatchRows int `env:"EXPORT_BATCH_ROWS, default=50000"`
}

// Validate checks the job's own settings and where BigQuery is.
func (c *Config) Validate() error {
	if c.BatchRows < 1 || c.BatchRows > 1_000_000 {
		return fmt.Errorf("EXPORT_BATCH_ROWS must be within 1..1000000")
	}
	return c.BigQuery.Validate()
}

// Function is the `export-activity` function as deployed.
var Function = boot.Function{Name: "export-activity", EntryPoint: "ExportActivity", StartHTTP: setup.BigQueryJob("export-activity", bigquery.NewClient,
	func(cfg Config, bq *bigquery.Client, log *slog.Logger, j *setup.Jobs) setup.Run {
		o := export.Options{Dataset: cfg.Dataset, Table: cfg.Table, Location: cfg.Location, BatchRows: cfg.BatchRows, Log: log}
		return func(ctx context.Context) (any, error) { return export.Run(ctx, j.DB, bq, o) }
	})}

func init() { Function.Register() }
