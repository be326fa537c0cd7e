package schema_test

import (
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

const insertLockAudit = `INSERT INTO bff.lock_action_audit (id, tenant_id, property_id, operator_id, device_id, session_id,
  reservation_id, action, occurred_at, request_id, upstream_request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'revoke', $8, 'req-1', $9)`

func lockAuditArgs(tenant string, at time.Time) []any {
	return []any{ids.New(ids.LockAudit), tenant, ids.New(ids.Property), ids.New(ids.Operator), ids.New(ids.Device),
		ids.New(ids.Session), ids.New(ids.Reservation), at, "up-" + testenv.Unique()}
}

const settleLockAudit = `UPDATE bff.lock_action_audit SET outcome = 'success', vendor = 'salto', key_ids = ARRAY['key_1'],
  upstream_latency_ms = 12, verified = true, settled_at = now(), settled_by = $1 WHERE outcome = 'unknown'`

// The privileges of migration 0009, column by column: both roles read and
// settle, the app inserts, nobody deletes or truncates.
func TestLockAuditGrants(t *testing.T) {
	t.Parallel()
	admin := freshAdmin(t)
	settle := []string{"UPDATE(error_code)", "UPDATE(error_message)", "UPDATE(key_ids)", "UPDATE(outcome)",
		"UPDATE(settled_at)", "UPDATE(settled_by)", "UPDATE(upstream_latency_ms)", "UPDATE(vendor)", "UPDATE(verified)"}
	wantPrivileges(t, admin, "bff.lock_action_audit", map[string][]string{
		"bff_app":  append([]string{"INSERT", "SELECT"}, settle...),
		"bff_jobs": append([]string{"SELECT"}, settle...),
	})
}

// The policies and guards of migration 0009 as the roles meet them.
func TestLockAuditPolicies(t *testing.T) {
	t.Parallel()
	r := newRoles(t)
	a, b := ids.New(ids.Tenant), ids.New(ids.Tenant)
	for _, tn := range []string{a, b} {
		if _, err := r.inTenant(tn, insertLockAudit, lockAuditArgs(tn, time.Now())...); err != nil {
			t.Fatalf("intent of %s: %v", tn, err)
		}
	}
	// Another tenant's row: not insertable; an already-settled one neither.
	r.wantAppRefused(t, "intent for another tenant", a, insertLockAudit, lockAuditArgs(b, time.Now())...)
	args := lockAuditArgs(a, time.Now())
	r.wantAppRefused(t, "a row born settled", a, `INSERT INTO bff.lock_action_audit (id, tenant_id, property_id, operator_id, device_id, session_id,
  reservation_id, action, occurred_at, request_id, upstream_request_id, outcome, settled_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'revoke', $8, 'req-1', $9, 'success', now())`, args...)
	// One intent per upstream request id.
	dup := lockAuditArgs(a, time.Now())
	dup[8] = "same-upstream-id"
	if _, err := r.inTenant(a, insertLockAudit, dup...); err != nil {
		t.Fatal(err)
	}
	dup[0] = ids.New(ids.LockAudit)
	_, err := r.inTenant(a, insertLockAudit, dup...)
	wantSQLState(t, "second intent for one upstream request", err, "23505")

	// The app settles its own unsettled rows, once; intent columns never change.
	if n, err := r.inTenant(a, settleLockAudit, "request"); err != nil || n != 2 {
		t.Fatalf("settle = %d rows, %v; want 2", n, err)
	}
	if n, err := r.inTenant(a, settleLockAudit, "request"); err != nil || n != 0 {
		t.Fatalf("second settle = %d rows, %v; want 0 (nothing unsettled is visible to update)", n, err)
	}
	r.wantAppRefused(t, "app update of the action", a, "UPDATE bff.lock_action_audit SET action = 'issue'")
	r.wantAppRefused(t, "app delete", a, "DELETE FROM bff.lock_action_audit")

	// Jobs: sees every tenant, settles only what is unsettled (b's row).
	if all, err := countAsJobs(r.ctx, r.jobs, "bff.lock_action_audit"); err != nil || all != 3 {
		t.Fatalf("jobs sees %d rows (%v), want 3", all, err)
	}
	if n, err := r.asJobs(settleLockAudit, "reconcile"); err != nil || n != 1 {
		t.Fatalf("jobs settle = %d rows, %v; want 1", n, err)
	}
	r.wantJobsRefused(t, "jobs delete", "DELETE FROM bff.lock_action_audit")

	// Owner and superuser: a settled row is immutable, a young one
	// undeletable. The owner meets forced RLS first and sees no row; the
	// superuser bypasses RLS and meets the guard.
	r.wantOwnerAndSuperuserRefused(t, true,
		"UPDATE bff.lock_action_audit SET outcome = 'failure'",
		"DELETE FROM bff.lock_action_audit",
		"TRUNCATE bff.lock_action_audit",
	)
	// Past 7 years a row may go (the retention job's future work).
	admin := connect(t, r.info.AdminURL)
	old := lockAuditArgs(a, time.Now().AddDate(-7, 0, -1))
	if _, err := r.inTenant(a, insertLockAudit, old...); err != nil {
		t.Fatal(err)
	}
	if tag, err := admin.Exec(r.ctx, "DELETE FROM bff.lock_action_audit WHERE id = $1", old[0]); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("delete of a row past retention = %v, %v", tag, err)
	}
}
