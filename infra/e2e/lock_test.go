package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/lock"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/lockaction"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	lockc "github.com/melmastoon/bff-backoffice/shared/upstream/lock"
)

type auditRow struct {
	ID, Action, Outcome string
	Verified            *bool
	MFA                 *string
}

// audits reads the tenant's lock audit rows as the app role sees them.
func (e *env) audits(tenantID, rsvID string) []auditRow {
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
	rows, err := tx.Query(ctx, `SELECT id, action, outcome, verified, mfa_attestation_id FROM bff.lock_action_audit
		WHERE reservation_id = $1 ORDER BY occurred_at, id`, rsvID)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		return a, r.Scan(&a.ID, &a.Action, &a.Outcome, &a.Verified, &a.MFA)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestLockActions: issue, a revoke refused without MFA, 50 concurrent
// revokes presenting one attestation (exactly one goes through), the replay
// of the winner, and a vendor that reports a revoke it did not do — the
// mismatch answered, audited and raised as a lock_failed alert.
func TestLockActions(t *testing.T) {
	e := newEnv(t)
	tn, fd := e.operator(0, hasRole(fd))
	tok := e.mint(tn, fd, 0, nil)
	prop := fd.PropertyScope[0]
	rsv := e.inHouse(tn.ID, prop)
	lk := e.srv.Lock
	key := func() []string { return []string{"Idempotency-Key", ids.New("lock")} }
	until := time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	issue := func() {
		t.Helper()
		res := e.do("POST", "/v1/reservations/"+rsv+"/keys/issue", tok, fmt.Sprintf(`{"validUntil":%q}`, until), key()...)
		var out struct{ AuditID, Outcome, Vendor, KeyID string }
		res.json(t, &out)
		if res.StatusCode != 201 || out.Outcome != "success" || out.Vendor != lk.Vendor(prop) || out.KeyID == "" {
			t.Fatalf("issue: HTTP %d %s", res.StatusCode, res.body)
		}
	}
	attest := func() string {
		t.Helper()
		res := e.do("POST", "/v1/mfa/challenges", tok, `{"scope":"lock_revoke","factor":"totp"}`, key()...)
		var ch struct{ ChallengeID string }
		res.json(t, &ch)
		res = e.do("POST", "/v1/mfa/challenges/"+ch.ChallengeID+"/verify", tok, fmt.Sprintf(`{"code":%q}`, e.srv.IAM.MFADevCode()), key()...)
		var att struct{ ID string }
		res.json(t, &att)
		if res.StatusCode != 201 {
			t.Fatalf("verify: HTTP %d %s", res.StatusCode, res.body)
		}
		return att.ID
	}
	revokePath := "/v1/reservations/" + rsv + "/keys/revoke"

	issue()
	if res := e.do("POST", revokePath, tok, `{}`, key()...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_REQUIRED" || !strings.Contains(string(res.body), "lock_revoke") {
		t.Fatalf("revoke without MFA: HTTP %d %s", res.StatusCode, res.body)
	}
	if lk.Performed("revoke") != 0 {
		t.Fatal("a revoke without MFA reached lock-service")
	}

	// 50 concurrent revokes, one attestation: exactly one is performed.
	att := attest()
	const n = 50
	type answer struct {
		status int
		code   string
		hdr    []string
		body   string
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := append(key(), "X-MFA-Attestation", att)
			res := e.do("POST", revokePath, tok, `{}`, hdr...)
			a := answer{status: res.StatusCode, hdr: hdr, body: string(res.body)}
			if res.StatusCode != 201 {
				a.code = res.problem(t)
			}
			answers[i] = a
		}()
	}
	wg.Wait()
	var winner *answer
	for i, a := range answers {
		switch {
		case a.status == 201:
			if winner != nil {
				t.Fatalf("two revokes spent one attestation: %s and %s", winner.body, a.body)
			}
			winner = &answers[i]
		case a.status != 403 || a.code != "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID":
			t.Errorf("revoke %d: HTTP %d %s", i, a.status, a.body)
		}
	}
	if winner == nil || !strings.Contains(winner.body, `"verified":true`) {
		t.Fatalf("no verified revoke among the 50: %+v", winner)
	}
	if lk.Performed("revoke") != 1 {
		t.Fatalf("lock-service revoked %d times", lk.Performed("revoke"))
	}
	// The winner's replay is its stored answer; lock-service is not asked again.
	again := e.do("POST", revokePath, tok, `{}`, winner.hdr...)
	if again.StatusCode != 201 || string(again.body) != winner.body || lk.Performed("revoke") != 1 {
		t.Fatalf("replay: HTTP %d %s (revokes %d)", again.StatusCode, again.body, lk.Performed("revoke"))
	}
	// The spent attestation opens nothing else.
	issue()
	if res := e.do("POST", revokePath, tok, `{}`, append(key(), "X-MFA-Attestation", att)...); res.StatusCode != 403 || res.problem(t) != "MELMASTOON.BFF.BACKOFFICE.MFA_ATTESTATION_INVALID" {
		t.Fatalf("a spent attestation: HTTP %d %s", res.StatusCode, res.body)
	}

	// The vendor reports a revoke it did not do.
	lk.SetFaults(lock.Faults{SilentRevoke: true})
	res := e.do("POST", revokePath, tok, `{}`, append(key(), "X-MFA-Attestation", attest())...)
	var out struct {
		AuditID  string
		Verified *bool
	}
	res.json(t, &out)
	if res.StatusCode != 201 || out.Verified == nil || *out.Verified {
		t.Fatalf("silent revoke: HTTP %d %s", res.StatusCode, res.body)
	}
	lk.SetFaults(lock.Faults{})
	alerts := e.do("GET", query("/v1/alerts", prop)+"&status=open", tok, "")
	if alerts.StatusCode != 200 || !strings.Contains(string(alerts.body), `"lock_failed"`) || !strings.Contains(string(alerts.body), out.AuditID) {
		t.Fatalf("no lock_failed alert for %s: %s", out.AuditID, alerts.body)
	}

	// One audit row per attempt that got past the checks, each settled.
	rows := e.audits(tn.ID, rsv)
	var revokes, mismatches int
	for _, r := range rows {
		if r.Outcome != "success" {
			t.Errorf("row %s: outcome %s", r.ID, r.Outcome)
		}
		if r.Action == "revoke" {
			revokes++
			if r.MFA == nil {
				t.Errorf("revoke row %s without its attestation", r.ID)
			}
			if r.Verified != nil && !*r.Verified {
				mismatches++
				if r.ID != out.AuditID {
					t.Errorf("mismatch on row %s, want %s", r.ID, out.AuditID)
				}
			}
		}
	}
	if len(rows) != 4 || revokes != 2 || mismatches != 1 {
		t.Fatalf("audit rows %+v: want 2 issues, 2 revokes (one mismatch)", rows)
	}
}

// TestLockReconcile: lock-service acts but its answer is lost (held until
// the BFF gives up), and another request never reaches it; both rows stay
// 'unknown' until the reconciliation settles them with the truth, and the
// retry of the lost one gets the settled answer without a second key.
func TestLockReconcile(t *testing.T) {
	e := newEnv(t)
	tn, fd := e.operator(0, hasRole(fd))
	tok := e.mint(tn, fd, 0, nil)
	prop := fd.PropertyScope[0]
	rsv := e.inHouse(tn.ID, prop)
	lk := e.srv.Lock
	until := time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	body := fmt.Sprintf(`{"validUntil":%q}`, until)
	path := "/v1/reservations/" + rsv + "/keys/issue"

	lk.SetFaults(lock.Faults{HoldAnswers: true})
	lost := []string{"Idempotency-Key", ids.New("lock")}
	if res := e.do("POST", path, tok, body, lost...); res.StatusCode != 503 {
		t.Fatalf("held answer: HTTP %d %s", res.StatusCode, res.body)
	}
	lk.SetFaults(lock.Faults{})
	if err := lk.Fake().SetFault(fakes.Fault{Path: "/v1/tenants/" + tn.ID + "/properties/" + prop + "/reservations", ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if res := e.do("POST", path, tok, body, "Idempotency-Key", ids.New("lock")); res.StatusCode != 503 {
		t.Fatalf("unreachable lock-service: HTTP %d %s", res.StatusCode, res.body)
	}
	lk.Fake().ClearFaults()
	rows := e.audits(tn.ID, rsv)
	if len(rows) != 2 || rows[0].Outcome != "unknown" || rows[1].Outcome != "unknown" {
		t.Fatalf("rows before reconciling: %+v", rows)
	}

	cl, err := lockc.NewClient(lockc.Config{URL: e.srv.Upstreams["lock"], Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := lockaction.Reconcile(context.Background(), testenv.JobsDB(t, e.pg), cl, lockaction.ReconcileOptions{Grace: time.Nanosecond})
	if err != nil || sum.Checked != 2 || sum.Success != 1 || sum.Failure != 1 {
		t.Fatalf("reconcile = %+v, %v", sum, err)
	}
	rows = e.audits(tn.ID, rsv)
	if rows[0].Outcome != "success" || rows[1].Outcome != "failure" {
		t.Fatalf("rows after reconciling: %+v", rows)
	}
	// Nothing left; a second run changes nothing.
	if sum, err := lockaction.Reconcile(context.Background(), testenv.JobsDB(t, e.pg), cl, lockaction.ReconcileOptions{Grace: time.Nanosecond}); err != nil || sum.Checked != 0 {
		t.Fatalf("second run = %+v, %v", sum, err)
	}
	// The retry of the lost request: the settled answer, no second key.
	res := e.do("POST", path, tok, body, lost...)
	if res.StatusCode != 201 || !strings.Contains(string(res.body), rows[0].ID) || lk.Performed("issue") != 1 {
		t.Fatalf("retry: HTTP %d %s (issued %d)", res.StatusCode, res.body, lk.Performed("issue"))
	}
	if keys := lk.Keys(tn.ID, rsv); len(keys) != 1 {
		t.Fatalf("lock-service holds %d keys, want 1", len(keys))
	}
}
