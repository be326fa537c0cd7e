package schema_test

import (
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

const insertDecision = `INSERT INTO bff.ai_decision (id, tenant_id, property_id, suggestion_id, outcome, decided_by, decided_device_id, session_id, decided_at, request_id)
VALUES ($1, $2, $3, $4, 'accepted', $5, $6, $7, now(), 'req-1')`

func decisionArgs(tenant string) []any {
	return []any{ids.New(ids.AISuggestion), tenant, ids.New(ids.Property), "sug-" + testenv.Unique(),
		ids.New(ids.Operator), ids.New(ids.Device), ids.New(ids.Session)}
}

const insertAck = `INSERT INTO bff.alert_ack (id, tenant_id, property_id, alert_id, operator_id, device_id, session_id, acknowledged_at, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, now(), 'req-1')`

func ackArgs(tenant string) []any {
	return []any{ids.New(ids.Alert), tenant, ids.New(ids.Property), "alr-" + testenv.Unique(),
		ids.New(ids.Operator), ids.New(ids.Device), ids.New(ids.Session)}
}

// The privileges migration 0004 grants, column by column: the app and the
// jobs role may set ai_decision.forwarded_at and nothing else, delete
// nothing, and the acks are insert-only.
func TestDecisionTablesGrants(t *testing.T) {
	t.Parallel()
	admin := freshAdmin(t)
	wantPrivileges(t, admin, "bff.ai_decision", map[string][]string{
		"bff_app":  {"INSERT", "SELECT", "UPDATE(forwarded_at)"},
		"bff_jobs": {"SELECT", "UPDATE(forwarded_at)"},
	})
	wantPrivileges(t, admin, "bff.alert_ack", map[string][]string{
		"bff_app":  {"INSERT", "SELECT"},
		"bff_jobs": {},
	})
}

// The policies of migration 0004 as the roles meet them: the app reads and
// writes only its tenant's decisions and acks; a decision's only change is
// forwarded_at, once; the jobs role reads every tenant's decisions and
// marks only unforwarded ones.
func TestDecisionTablesPolicies(t *testing.T) {
	t.Parallel()
	r := newRoles(t)
	a, b := ids.New(ids.Tenant), ids.New(ids.Tenant)
	count := func(tenant, table string) int {
		t.Helper()
		n, err := countIn(r.ctx, r.app, tenant, table)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	for _, tn := range []string{a, b} {
		if _, err := r.inTenant(tn, insertDecision, decisionArgs(tn)...); err != nil {
			t.Fatalf("decision of %s: %v", tn, err)
		}
		if _, err := r.inTenant(tn, insertAck, ackArgs(tn)...); err != nil {
			t.Fatalf("ack of %s: %v", tn, err)
		}
	}
	// Another tenant's rows: not insertable, not visible.
	r.wantAppRefused(t, "decision for another tenant", a, insertDecision, decisionArgs(b)...)
	r.wantAppRefused(t, "ack for another tenant", a, insertAck, ackArgs(b)...)
	for _, table := range []string{"bff.ai_decision", "bff.alert_ack"} {
		if n := count(a, table); n != 1 {
			t.Errorf("%s rows visible to tenant a = %d, want 1", table, n)
		}
	}

	// A decision changes only by getting its forwarded_at, once.
	r.wantAppRefused(t, "app update of outcome", a, "UPDATE bff.ai_decision SET outcome = 'rejected'")
	r.wantAppRefused(t, "app delete", a, "DELETE FROM bff.ai_decision")
	if n, err := r.inTenant(a, "UPDATE bff.ai_decision SET forwarded_at = now()"); err != nil || n != 1 {
		t.Fatalf("app marks its decision forwarded = %d rows, %v; want 1", n, err)
	}
	r.wantAppRefused(t, "forwarded_at set twice", a, "UPDATE bff.ai_decision SET forwarded_at = now() + interval '1 minute'")
	r.wantAppRefused(t, "app update of an ack", a, "UPDATE bff.alert_ack SET acknowledged_at = now()")
	r.wantAppRefused(t, "app delete of an ack", a, "DELETE FROM bff.alert_ack")

	// Jobs: every tenant's decisions; marks only the unforwarded one (b's).
	if all, err := countAsJobs(r.ctx, r.jobs, "bff.ai_decision"); err != nil || all != 2 {
		t.Fatalf("jobs sees %d decisions (%v), want 2", all, err)
	}
	if n, err := r.asJobs("UPDATE bff.ai_decision SET forwarded_at = $1", time.Now()); err != nil || n != 1 {
		t.Fatalf("jobs marks forwarded = %d rows, %v; want 1 (the one not yet forwarded)", n, err)
	}
	r.wantJobsRefused(t, "jobs update of outcome", "UPDATE bff.ai_decision SET outcome = 'rejected'")
	r.wantJobsRefused(t, "jobs read of the acks", "SELECT count(*) FROM bff.alert_ack")
}
