package devserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// eventData is a well-formed `data` for each consumed subject, so that an
// event function's first event is handled, not dropped as poison.
func eventData(subject, deviceID, propertyID string, now time.Time) any {
	ts := now.Format(time.RFC3339Nano)
	switch subject {
	case events.IAMSessionRevoked:
		// Another operator's: the HTTP functions below keep using theirs.
		return map[string]string{"operatorId": ids.New(ids.Operator), "reason": "startup-test"}
	case events.AISuggestionCreated:
		return map[string]any{"suggestionId": "sug-startup", "propertyId": propertyID, "category": "rate_change",
			"severity": "attention", "createdAt": ts, "expiresAt": now.Add(time.Hour).Format(time.RFC3339Nano), "title": "startup",
			"provenance": map[string]string{"model": "m", "modelVersion": "1", "promptVersion": "p", "modelClass": "cloud", "signatureFingerprint": "f"}}
	case events.AISuggestionInvalidated:
		return map[string]string{"suggestionId": "sug-startup", "propertyId": propertyID}
	case events.NotificationAlertRaised:
		return map[string]any{"alertId": "alr-startup", "propertyId": propertyID, "severity": "warning", "category": "sync_lag",
			"raisedAt": ts, "payload": map[string]int{"lagSeconds": 90}}
	case events.NotificationAlertResolved:
		return map[string]string{"alertId": "alr-startup", "propertyId": propertyID, "resolvedAt": ts}
	case events.TenantBootstrapVersionChanged:
		return map[string]int{"version": 7}
	default:
		// reservation/housekeeping/maintenance .changed.v1, and any
		// property-scoped subject a later function consumes.
		return map[string]string{"propertyId": propertyID, "deviceId": deviceID}
	}
}

// Every function of the manifest starts exactly as deployed — its
// boot.Function built from configuration looked up by name, here pointing
// at the test stack — and answers its first request: 200 on /health and
// on each GET route (with a device's token) for an HTTP function, 200 on
// POST for a scheduled one, and an acknowledged, recorded first event for
// an event function.
func TestEveryFunctionStartsAsDeployed(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	_, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	project := testenv.ProjectID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := pubsubevents.EnsureTopics(ctx, project, append(events.Emitted(), events.Consumed()...)...); err != nil {
		t.Fatal(err)
	}
	log := logtest.TestLogger(t)
	// The dev server supplies the fakes and the configuration; each
	// function below is started again on its own from that configuration.
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: root, DatabaseURL: info.AppURL, JobsDatabaseURL: info.JobsURL,
		RedisAddr: rdb.Options().Addr, RedisPrefix: rdb.Prefix, ProjectID: project, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tn := srv.Demo.Tenants[0]
	var op = tn.Operators[0]
	for _, o := range tn.Operators {
		if len(o.PropertyScope) > 0 && strings.Contains(strings.Join(o.Roles, ","), "manager") {
			op = o
			break
		}
	}
	token, err := srv.IAM.Mint(iam.Claims{TenantID: tn.ID, OperatorID: op.ID, DeviceID: op.Devices[0].ID}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	registry := map[string]bool{}
	for _, f := range devserver.Functions {
		registry[f.Name] = true
	}
	for _, fn := range m.Functions {
		if !registry[fn.Name] {
			t.Errorf("%s is in the manifest but not in devserver.Functions", fn.Name)
			continue
		}
		t.Run(fn.Name, func(t *testing.T) {
			f, _ := devserver.Lookup(fn.Name)
			if f.EntryPoint != fn.EntryPoint {
				t.Errorf("entry point %q, manifest says %q", f.EntryPoint, fn.EntryPoint)
			}
			h, e, err := f.Start(ctx, config.MapLookuper(srv.Env), log)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			switch fn.Kind {
			case manifest.KindEvent:
				defer e.Close()
				data := eventData(fn.Trigger, op.Devices[0].ID, op.PropertyScope[0], time.Now().UTC())
				env, err := events.New(fn.Trigger, tn.ID, op.PropertyScope[0], data)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.CloudEvent()(ctx, cloudEvent(t, env)); err != nil {
					t.Fatalf("first event: %v", err)
				}
				if n, err := rdb.Exists(ctx, consume.MarkerKey(rdb, e.Name, env.ID)).Result(); err != nil || n != 1 {
					t.Errorf("first event not recorded as processed (marker exists = %d, %v)", n, err)
				}
			case manifest.KindScheduled:
				defer h.Close()
				if code := serve(t, httpx.Wrap(log, h.Handler), "POST", "/", ""); code != http.StatusOK {
					t.Errorf("POST = %d, want 200", code)
				}
			default:
				defer h.Close()
				// Served as boot.Function.Register serves it when deployed.
				h.Handler = httpx.Wrap(log, h.Handler)
				if code := serve(t, h.Handler, "GET", "/health", ""); code != http.StatusOK {
					t.Errorf("GET /health = %d, want 200", code)
				}
				for _, r := range fn.ParsedRoutes() {
					if r.Method != http.MethodGet || r.Path == "/v1/events" {
						continue // mutations and the stream have their own tests
					}
					if code := serve(t, h.Handler, "GET", r.Path, token); code != http.StatusOK {
						t.Errorf("GET %s = %d, want 200", r.Path, code)
					}
				}
			}
		})
	}
}

func serve(t *testing.T, h http.Handler, method, path, token string) int {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code >= 300 {
		t.Logf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	_, _ = io.Copy(io.Discard, w.Body)
	return w.Code
}

// cloudEvent wraps env as Eventarc delivers a Pub/Sub message.
func cloudEvent(t *testing.T, env events.Envelope) event.Event {
	t.Helper()
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	ce := event.New()
	ce.SetID(ids.New(ids.Event))
	ce.SetSource("//pubsub.googleapis.com/projects/p/topics/" + env.Subject)
	ce.SetType(consume.EventType)
	msg := map[string]any{"subscription": "projects/p/subscriptions/s", "message": map[string]any{
		"data": data, "attributes": map[string]string{"subject": env.Subject, "tenantId": env.TenantID},
		"messageId": "1", "publishTime": time.Now().UTC().Format(time.RFC3339Nano)}}
	if err := ce.SetData(event.ApplicationJSON, msg); err != nil {
		t.Fatal(err)
	}
	return ce
}
