package devserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// Locally, POST /_jobs/<name> plays Cloud Scheduler: the outbox relay
// mounted there drains the outbox through the jobs role.
func TestScheduledFunctionsRunOnPOST(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	app, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	project := testenv.ProjectID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pubsubevents.EnsureTopics(ctx, project, events.AlertAcknowledged); err != nil {
		t.Fatal(err)
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: root, DatabaseURL: info.AppURL, JobsDatabaseURL: info.JobsURL,
		RedisAddr: rdb.Options().Addr, RedisPrefix: rdb.Prefix, ProjectID: project,
		Log: logtest.TestLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	// Rows older than the relay's minimum age, as Send's misses would be
	// by the time Cloud Scheduler calls.
	tenant := ids.New(ids.Tenant)
	const n = 3
	if err := app.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		for i := range n {
			e, err := events.New(events.AlertAcknowledged, tenant, "", map[string]int{"i": i})
			if err != nil {
				return err
			}
			if err := outbox.Add(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, info.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "UPDATE bff.outbox SET created_at = created_at - interval '1 minute'"); err != nil {
		t.Fatal(err)
	}

	url := srv.BaseURL + devserver.JobPath("outbox-relay")
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st outbox.DrainStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK || st.Published != n {
		t.Errorf("POST %s = %d %+v (%v), want 200 with %d published", url, resp.StatusCode, st, err, n)
	}
	var left int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM bff.outbox").Scan(&left); err != nil || left != 0 {
		t.Errorf("outbox rows left = %d, %v", left, err)
	}
}
