package devices

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

// SyncSummary is the dashboard's syncStatus widget: the property's live
// devices by what the desk needs to know of them. The three counts
// partition the devices.
type SyncSummary struct {
	// Online devices were heard within OfflineAfter (online or idle) and
	// report no offline actions waiting.
	Online int `json:"online"`
	// Lagging devices were heard within OfflineAfter but still hold
	// offline actions they have not pushed (a hint younger than
	// HintRetention with a count above zero).
	Lagging int `json:"lagging"`
	// Offline devices went silent OfflineAfter ago or more, or the session
	// of their last heartbeat ended.
	Offline int `json:"offline"`
	// PendingActions is the sum of the offline actions the property's
	// devices last reported (within HintRetention), offline ones included:
	// work that reaches the property's services only once they sync.
	PendingActions int `json:"pendingActions"`
}

// maxSummarized bounds the rows one summary reads; a property has tens of
// desktops, so a larger count is a sign of something else and the widget
// counts the first ones.
const maxSummarized = 1000

// SyncSummary counts propertyID's live devices for the dashboard (no
// actor: the composition has checked the scope; the tenant's RLS holds).
func (s *Service) SyncSummary(ctx context.Context, tenantID, propertyID string) (_ SyncSummary, err error) {
	defer derrors.Wrap(&err, "devices.SyncSummary")
	var sts []Status
	err = s.d.DB.InTenantTx(ctx, tenantID, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+columns+` FROM bff.device_sync d
 WHERE d.property_id = $1 AND d.deleted_at IS NULL
 ORDER BY d.device_id LIMIT $2`, propertyID, maxSummarized)
		if err != nil {
			return err
		}
		sts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Status, error) { return scanStatus(r) })
		return err
	})
	if err != nil {
		return SyncSummary{}, err
	}
	open, err := s.sessionsOpen(ctx, sts)
	if err != nil {
		return SyncSummary{}, err
	}
	now := s.d.Now()
	var sum SyncSummary
	for i, st := range sts {
		pending := 0
		if st.reportedAt != nil && now.Sub(st.reportedAt.Time) < HintRetention {
			for _, p := range st.pending {
				pending += p.Count
			}
		}
		sum.PendingActions += pending
		switch derive(st, now, open[i]) {
		case StatusOnline, StatusIdle:
			if pending > 0 {
				sum.Lagging++
			} else {
				sum.Online++
			}
		default:
			sum.Offline++
		}
	}
	return sum, nil
}
