package setup

import (
	"fmt"
	"net"
	"net/url"

	"google.golang.org/api/option"
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

// ClientOptions are the BigQuery client's options: the fake's endpoint,
// without credentials, when one is set; none in production.
func (b *BigQuery) ClientOptions() []option.ClientOption {
	if b.Endpoint == "" {
		return nil
	}
	return []option.ClientOption{option.WithEndpoint(b.Endpoint), option.WithoutAuthentication()}
}
