package outboxrelay_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5"

	outboxrelay "github.com/melmastoon/bff-backoffice/functions/outbox-relay"
	"github.com/melmastoon/bff-backoffice/shared/events"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t)
	app, info := testenv.Postgres(t)
	jobs := testenv.JobsDB(t, info)
	project := testenv.ProjectID(t)
	ctx := context.Background()
	if err := pubsubevents.EnsureTopics(ctx, project, events.AlertAcknowledged); err != nil {
		t.Fatal(err)
	}
	pub, err := pubsubevents.NewPublisher(ctx, project, pubsubevents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	tenant := ids.New(ids.Tenant)
	var evs []events.Envelope
	for range 3 {
		e, err := events.New(events.AlertAcknowledged, tenant, "", map[string]string{"alertId": "a"})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if err := app.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		return outbox.Add(ctx, tx, evs...)
	}); err != nil {
		t.Fatal(err)
	}

	serve := func(h http.Handler, method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
		return rec
	}
	h := outboxrelay.New(jobs, pub, log, outbox.DrainOptions{MinAge: -1})

	if rec := serve(h, http.MethodGet); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d, want 405", rec.Code)
	}
	rec := serve(h, http.MethodPost)
	var st outbox.DrainStats
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &st) != nil || st.Published != len(evs) {
		t.Errorf("POST = %d %s, want 200 with %d published", rec.Code, rec.Body, len(evs))
	}
	// A run that cannot work (here: the app role, which sees no tenant's
	// rows) fails, so Cloud Scheduler records and retries it.
	if rec := serve(outboxrelay.New(app, pub, log, outbox.DrainOptions{}), http.MethodPost); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("POST with the app role = %d %s, want 503", rec.Code, rec.Body)
	}
}
