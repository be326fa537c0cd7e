// Package e2e drives the functions through the dev server over real HTTP,
// against real Postgres, Redis and the Pub/Sub emulator, with the fakes of
// upstream services; every request and response is validated against
// openapi.yaml (exchange).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/contract"
	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/fakes/fleet"
	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

type env struct {
	t       *testing.T
	srv     *devserver.Server
	spec    *contract.Spec
	pg      testenv.PGInfo
	rdb     *redisx.Client
	project string
	client  *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testenv.PubsubHost(t) // fail early and clearly when not under make test
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := contract.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	_, info := testenv.Postgres(t)
	rdb := testenv.Redis(t)
	project := testenv.ProjectID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: root, DatabaseURL: info.AppURL, JobsDatabaseURL: info.JobsURL, RedisAddr: rdb.Options().Addr, RedisPrefix: rdb.Prefix,
		ProjectID: project, PushSubscriptions: true,
		// Refusals log warnings by design; they show only with a failure.
		Log: testLog(t),
		Env: wideBudgets(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, spec: spec, pg: info, rdb: rdb, project: project, client: &http.Client{Timeout: 10 * time.Second}}
}

// wideBudgets widens the composition's budgets and the upstream clients'
// timeouts for the e2e stack: the tests run in parallel with herds on a
// loaded 2-core machine, where a healthy fake can take longer than the
// production 300 ms, and a "fresh, not partial" assertion must not depend
// on scheduling luck. Budget behaviour itself is tested in shared/compose
// and shared/views with their own budgets, and by make bench at the real
// ones.
func wideBudgets() map[string]string {
	env := map[string]string{"VIEW_WIDGET_BUDGET": "1500ms", "VIEW_TOTAL_BUDGET": "3s"}
	for _, name := range fleet.Names() {
		env[strings.TrimSuffix(fleet.EnvVar(name), "_URL")+"_TIMEOUT"] = "1500ms"
	}
	return env
}

// operator finds a demo operator by role (and whether it has scope).
func (e *env) operator(tenant int, pick func(demo.Operator) bool) (demo.Tenant, demo.Operator) {
	e.t.Helper()
	tn := e.srv.Demo.Tenants[tenant]
	for _, o := range tn.Operators {
		if pick(o) {
			return tn, o
		}
	}
	e.t.Fatal("no demo operator matches")
	return demo.Tenant{}, demo.Operator{}
}

func hasRole(role string) func(demo.Operator) bool {
	return func(o demo.Operator) bool {
		for _, r := range o.Roles {
			if r == role && len(o.PropertyScope) > 0 {
				return true
			}
		}
		return false
	}
}

func (e *env) mint(tn demo.Tenant, o demo.Operator, device int, mod func(*iam.Claims)) string {
	e.t.Helper()
	c := iam.Claims{TenantID: tn.ID, OperatorID: o.ID, DeviceID: o.Devices[device].ID}
	if mod != nil {
		mod(&c)
	}
	tok, err := e.srv.IAM.Mint(c, 12*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem returns the code of a problem+json body, failing when the body is
// not one.
func (r resp) problem(t *testing.T) string {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	var p struct {
		Code      string `json:"code"`
		Status    int    `json:"status"`
		RequestID string `json:"requestId"`
	}
	r.json(t, &p)
	if p.Status != r.StatusCode || p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
		t.Fatalf("problem status/requestId inconsistent: %s (HTTP %d, X-Request-Id %q)", r.body, r.StatusCode, r.Header.Get("X-Request-Id"))
	}
	return p.Code
}

// do sends a request and checks the answer against openapi.yaml.
func (e *env) do(method, path, token, body string, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.BaseURL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, b, err := exchange(e.t, e.spec, e.client, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res, b}
}

// exchange is the one way e2e tests talk to the service: it sends req,
// reads the whole answer, and checks request and response against
// openapi.yaml, failing t (t.Error: safe from any goroutine) on any
// mismatch. Only transport errors are returned; the body is also put back
// on res for callers that decode it.
func exchange(t testing.TB, spec *contract.Spec, client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return res, nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	checkContract(t, spec, req, res, b)
	return res, b, nil
}

// checkContract fails t when an exchange read by other means (a stream)
// does not match openapi.yaml.
func checkContract(t testing.TB, spec *contract.Spec, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	if err := spec.Check(req, res, body); err != nil {
		t.Error(err)
	}
}

type activityRow struct {
	Category, Action, Outcome string
	SessionID, PropertyID     *string
	ErrorCode                 *string
}

// activity reads a tenant's ledger rows, oldest first, as the app role would
// see them (RLS on).
func (e *env) activity(tenantID string) []activityRow {
	e.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pg.AppURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tenantID); err != nil {
		e.t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `SELECT category, action, outcome, session_id, property_id, error_code
		FROM bff.operator_activity ORDER BY occurred_at, id`)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (activityRow, error) {
		var a activityRow
		err := r.Scan(&a.Category, &a.Action, &a.Outcome, &a.SessionID, &a.PropertyID, &a.ErrorCode)
		return a, err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// testLog is the dev server's log, into the test's log: it shows when the
// test fails or runs with -v.
func testLog(t testing.TB) *slog.Logger { return logtest.TestLogger(t) }
