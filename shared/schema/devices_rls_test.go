package schema_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/ids"
)

const insertDevice = `INSERT INTO bff.device_sync (id, tenant_id, device_id, property_id, operator_id, session_id, sent_at, last_heartbeat_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, now(), now() - interval '10 minutes', now())`

func deviceArgs(tenant, device string) []any {
	return []any{ids.New(ids.DeviceSync), tenant, device, ids.New(ids.Property), ids.New(ids.Operator), ids.New(ids.Session)}
}

// The privileges migration 0008 grants: the app writes heartbeat columns
// and the tombstone and deletes nothing; the jobs role reads and sets
// lost_at, nothing else.
func TestDeviceSyncGrants(t *testing.T) {
	t.Parallel()
	admin := freshAdmin(t)
	app := []string{"INSERT", "SELECT"}
	for _, c := range []string{"app_platform", "app_version", "deleted_at", "hint_id", "installer_channel", "last_heartbeat_at",
		"lost_at", "network_profile", "operator_id", "operator_ids", "pending", "pending_reported_at", "property_id", "sent_at", "session_id", "updated_at"} {
		app = append(app, "UPDATE("+c+")")
	}
	wantPrivileges(t, admin, "bff.device_sync", map[string][]string{
		"bff_app": app,
		// The sweeper's lost_at (0008) and emptying expired hints (0011;
		// its policy and trigger allow nothing else).
		"bff_jobs": {"SELECT", "UPDATE(hint_id)", "UPDATE(lost_at)", "UPDATE(pending)", "UPDATE(pending_reported_at)"},
	})
}

// The policies of migration 0008 as the roles meet them: tenants see and
// write only their own devices; the jobs role marks a live device lost once
// and never touches a deleted one; a tombstone is permanent.
func TestDeviceSyncPolicies(t *testing.T) {
	t.Parallel()
	r := newRoles(t)
	a, b := ids.New(ids.Tenant), ids.New(ids.Tenant)
	devA, devB := ids.New(ids.Device), ids.New(ids.Device)
	if _, err := r.inTenant(a, insertDevice, deviceArgs(a, devA)...); err != nil {
		t.Fatal(err)
	}
	if _, err := r.inTenant(b, insertDevice, deviceArgs(b, devB)...); err != nil {
		t.Fatal(err)
	}
	r.wantAppRefused(t, "device for another tenant", a, insertDevice, deviceArgs(b, ids.New(ids.Device))...)
	if n, err := r.inTenant(a, `UPDATE bff.device_sync SET network_profile = 'good'`); err != nil || n != 1 {
		t.Errorf("tenant a updates %d rows, %v; want its 1", n, err)
	}
	r.wantAppRefused(t, "app delete", a, `DELETE FROM bff.device_sync`)
	r.wantAppRefused(t, "app update of id", a, `UPDATE bff.device_sync SET id = $1`, ids.New(ids.DeviceSync))

	// Jobs: lost_at once, on live devices only; no other column.
	r.wantJobsRefused(t, "jobs update of another column", `UPDATE bff.device_sync SET network_profile = 'good'`)
	if n, err := r.asJobs(`UPDATE bff.device_sync SET lost_at = now() WHERE lost_at IS NULL`); err != nil || n != 2 {
		t.Errorf("jobs marks %d lost, %v; want 2 (both tenants)", n, err)
	}
	if n, err := r.asJobs(`UPDATE bff.device_sync SET lost_at = now()`); err != nil || n != 0 {
		t.Errorf("jobs marks lost again: %d rows, %v; want 0", n, err)
	}

	// The tombstone stays, and nothing changes a deleted device.
	if n, err := r.inTenant(a, `UPDATE bff.device_sync SET deleted_at = now(), lost_at = NULL WHERE device_id = $1`, devA); err != nil || n != 1 {
		t.Fatalf("tombstone: %d rows, %v", n, err)
	}
	r.wantAppRefused(t, "clearing the tombstone", a, `UPDATE bff.device_sync SET deleted_at = NULL WHERE device_id = $1`, devA)
	r.wantAppRefused(t, "updating a deleted device", a, `UPDATE bff.device_sync SET network_profile = 'flaky' WHERE device_id = $1`, devA)
	if n, err := r.asJobs(`UPDATE bff.device_sync SET lost_at = now() WHERE device_id = $1`, devA); err != nil || n != 0 {
		t.Errorf("jobs marks a deleted device lost: %d rows, %v", n, err)
	}
}

// bff_jobs inserts into the outbox device.heartbeat.lost.v1 events
// (heartbeat-sweeper) and operator.activity.v1 events (export-activity's
// sample) of the tenant its transaction names, and nothing else.
func TestJobsOutboxInsertOnlyHeartbeatLost(t *testing.T) {
	t.Parallel()
	r := newRoles(t)
	tenant := ids.New(ids.Tenant)
	insert := func(setTenant, rowTenant, subject string) error {
		return r.jobs.InJobsTx(r.ctx, func(ctx context.Context, tx pgx.Tx) error {
			if setTenant != "" {
				if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, setTenant); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO bff.outbox (id, tenant_id, subject, envelope) VALUES ($1, $2, $3, '\x7b7d')`,
				ids.New(ids.Event), rowTenant, subject)
			return err
		})
	}
	const lost = "melmastoon.bff.backoffice.device.heartbeat.lost.v1"
	if err := insert(tenant, tenant, lost); err != nil {
		t.Fatalf("jobs inserting heartbeat.lost: %v", err)
	}
	const sampled = "melmastoon.bff.backoffice.operator.activity.v1"
	if err := insert(tenant, tenant, sampled); err != nil {
		t.Fatalf("jobs inserting operator.activity: %v", err)
	}
	wantSQLState(t, "jobs inserting operator.activity for another tenant", insert(tenant, ids.New(ids.Tenant), sampled), "42501")
	wantSQLState(t, "jobs inserting another subject", insert(tenant, tenant, "melmastoon.bff.backoffice.alert.acknowledged.v1"), "42501")
	wantSQLState(t, "jobs inserting for another tenant", insert(tenant, ids.New(ids.Tenant), lost), "42501")
	wantSQLState(t, "jobs inserting without a tenant", insert("", tenant, lost), "42501")
}
