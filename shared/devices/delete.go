package devices

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Delete leaves the device's tombstone (a device never seen gets a row
// that is only a tombstone), clears its offline hint (no one sees a deleted
// device's hint, and the tombstone allows no later update, so the 7-day
// retention could not clear it) and drops its hot copy, and returns every
// operator seen on it, whose sessions there the caller revokes. Deleting
// twice changes nothing and returns the same operators, so a redelivered
// event whose revocation failed the first time revokes again.
func (s *Service) Delete(ctx context.Context, tenantID, deviceID string, at time.Time) (operators []string, err error) {
	defer derrors.Wrap(&err, "devices.Delete(%s)", deviceID)
	if err := ids.Check(ids.Device, deviceID); err != nil {
		return nil, err
	}
	err = s.d.DB.InTenantTx(ctx, tenantID, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
INSERT INTO bff.device_sync AS d (id, tenant_id, device_id, deleted_at, updated_at)
VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (tenant_id, device_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at, lost_at = NULL, updated_at = EXCLUDED.updated_at,
       hint_id = NULL, pending = NULL, pending_reported_at = NULL
 WHERE d.deleted_at IS NULL`, ids.New(ids.DeviceSync), tenantID, deviceID, at.UTC()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT operator_ids FROM bff.device_sync WHERE device_id = $1`, deviceID).Scan(&operators)
	})
	if err != nil {
		return nil, err
	}
	// After the commit: a heartbeat racing this one either committed
	// before the tombstone (and its copy is dropped here) or is refused by
	// it; the fast path that answers from the copy never writes.
	if err := s.DropHot(ctx, tenantID, deviceID); err != nil {
		return nil, err
	}
	return operators, nil
}
