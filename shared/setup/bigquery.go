package setup

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"

	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/shared/boot"
)

// BigQuery is where the exported activity ledger lives, as the jobs that
// reach it (export-activity, verify-ledger) read it from the environment;
// deploy.sh sets it from terraform/bigquery.tf. Embed it in a function's
// config and call its Validate from the config's own.
type BigQuery struct {
	Project  string `env:"GOOGLE_CLOUD_PROJECT, required"`
	Dataset  string `env:"BIGQUERY_DATASET, default=melmastoon_audit"`
	Table    string `env:"BIGQUERY_TABLE, default=operator_activity"`
	Location string `env:"BIGQUERY_LOCATION, default=US"`
	// Endpoint is the dev stack's BigQuery fake (…/bigquery/v2/); empty in
	// production (the real API, with the runtime account's credentials).
	Endpoint string `env:"BIGQUERY_ENDPOINT"`
}

// Validate refuses an endpoint off this machine: the endpoint is spoken to
// without credentials, which only a local fake may be.
func (b *BigQuery) Validate() error {
	if b.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(b.Endpoint)
	if err != nil {
		return fmt.Errorf("BIGQUERY_ENDPOINT: %w", err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("BIGQUERY_ENDPOINT %q: only a loopback fake may be set (it is called without credentials)", b.Endpoint)
	}
	return nil
}

// clientOptions are the BigQuery client's options: the fake's endpoint,
// without credentials, when one is set; none in production.
func (b *BigQuery) clientOptions() []option.ClientOption {
	if b.Endpoint == "" {
		return nil
	}
	return []option.ClientOption{option.WithEndpoint(b.Endpoint), option.WithoutAuthentication()}
}

// bigQuery is the BigQuery a job's configuration embeds: the constraint
// by which BigQueryJob finds it in a config type of the job's own.
func (b *BigQuery) bigQuery() *BigQuery { return b }

// BigQueryJob is ClientJob for a job over the exported ledger: its
// configuration C embeds BigQuery, and the BigQuery client is opened with
// newClient for its project. newClient is bigquery.NewClient, passed in so
// that setup, which every function links, does not link the BigQuery
// client only the two ledger jobs use.
func BigQueryJob[C any, PC interface {
	*C
	bigQuery() *BigQuery
}, T any](what string, newClient func(ctx context.Context, project string, opts ...option.ClientOption) (T, error),
	newRun func(cfg C, bq T, log *slog.Logger, j *Jobs) Run) func(context.Context, boot.Lookuper, *slog.Logger) (boot.HTTPFunc, error) {
	return ClientJob(what, func(ctx context.Context, cfg C) (T, error) {
		b := PC(&cfg).bigQuery()
		// The client lives as long as the instance; ctx is only the
		// start-up deadline.
		bq, err := newClient(context.WithoutCancel(ctx), b.Project, b.clientOptions()...)
		if err != nil {
			return bq, fmt.Errorf("bigquery client: %w", err)
		}
		return bq, nil
	}, newRun)
}
