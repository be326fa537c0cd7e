package setup_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// A BigQuery job starts with its own configuration loaded (the embedded
// BigQuery's and its own settings) and a client opened for that project,
// with the fake's endpoint; a configuration its Validate refuses (a
// remote endpoint) stops the start before any client is opened.
func TestBigQueryJob(t *testing.T) {
	t.Parallel()
	ctx, info, project := jobsStack(t)
	type jobConfig struct {
		setup.BigQuery
		Rows int `env:"TEST_JOB_ROWS, default=3"`
	}
	type client struct {
		project string
		opts    int
	}
	var opened []client
	start := setup.BigQueryJob("test-job",
		func(_ context.Context, project string, opts ...option.ClientOption) (client, error) {
			c := client{project, len(opts)}
			opened = append(opened, c)
			return c, nil
		},
		func(cfg jobConfig, bq client, _ *slog.Logger, _ *setup.Jobs) setup.Run {
			return func(context.Context) (any, error) {
				return map[string]any{"dataset": cfg.Dataset, "rows": cfg.Rows, "project": bq.project, "opts": bq.opts}, nil
			}
		})
	env := func(endpoint string) boot.Lookuper {
		return config.MapLookuper(map[string]string{
			"GOOGLE_CLOUD_PROJECT": project, "JOBS_DATABASE_URL": info.JobsURL, "BIGQUERY_ENDPOINT": endpoint,
		})
	}

	if _, err := start(ctx, env("https://bigquery.example.com/bigquery/v2/"), logtest.TestLogger(t)); err == nil ||
		!strings.Contains(err.Error(), "BIGQUERY_ENDPOINT") || len(opened) != 0 {
		t.Fatalf("a remote endpoint: %v, %d clients opened; want refused before any", err, len(opened))
	}
	fn, err := start(ctx, env("http://127.0.0.1:9050/bigquery/v2/"), logtest.TestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	w := httptest.NewRecorder()
	fn.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
	var got struct {
		Dataset, Project string
		Rows, Opts       int
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK ||
		got.Dataset != "melmastoon_audit" || got.Rows != 3 || got.Project != project || got.Opts != 2 {
		t.Fatalf("run = %d %s (%v); want the job's config and a client for its project with the fake's 2 options", w.Code, w.Body, err)
	}
}
