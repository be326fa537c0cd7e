package setup

import (
	"context"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/folioaction"
	"github.com/melmastoon/bff-backoffice/shared/lockaction"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/reservationaction"
	"github.com/melmastoon/bff-backoffice/shared/upstream/folio"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/lock"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
)

// mutationLookupTimeout is the least time a mutation's reservation lookup
// gets.
const mutationLookupTimeout = 3 * time.Second

// LockActions is the door-key service: lock-service (LOCK_SERVICE_URL),
// reservation-service for the reservation's property and room, step-up
// MFA for revokes, and the property's alert inbox for failed revokes.
func (b *Builder) LockActions() *lockaction.Service {
	lk, rsv := dialFor(b, "lock", lock.NewClient), b.mutationReservations()
	alerts := b.Inboxes(UpNotification).Alerts
	return lockaction.New(lockaction.Deps{
		DB: b.Res.DB, Relay: outbox.NewRelay(b.Res.DB, b.Gate.Publisher, b.Log, outbox.Options{}),
		Lock: lk, Reservations: rsv, MFA: b.MFA(),
		Alerts: func(ctx context.Context, tenantID, propertyID string, a notification.Alert) error {
			if alerts == nil {
				return nil
			}
			return alerts.Put(ctx, tenantID, propertyID, []notification.Alert{a}, false)
		},
	})
}

// FolioActions is the folio mutations: folio-service (FOLIO_SERVICE_URL),
// tenant-service for the MFA threshold, step-up MFA.
func (b *Builder) FolioActions() *folioaction.Service {
	return folioaction.New(folioaction.Deps{Folio: dialFor(b, "folio", folio.NewClient), Tenant: b.tenantClient(), MFA: b.MFA()})
}

// mutationReservations is the reservation-service client of a mutation:
// nil (and the builder failed) when it cannot be built.
func (b *Builder) mutationReservations() *reservation.Client {
	// A mutation waits longer for its reservation than a dashboard widget
	// does: the lookup gates an action the operator is standing at the
	// desk for, not a tile that may be served stale.
	return dialFor(b, "reservation", func(cfg reservation.Config, opts ...httpc.Option) (*reservation.Client, error) {
		cfg.Timeout = max(cfg.Timeout, mutationLookupTimeout)
		return reservation.NewClient(cfg, opts...)
	})
}

// ReservationActions is the stay mutations: reservation-service
// (RESERVATION_SERVICE_URL) for the reservation's property and the
// mutation itself, step-up MFA for force-checkouts.
func (b *Builder) ReservationActions() *reservationaction.Service {
	return reservationaction.New(reservationaction.Deps{Reservations: b.mutationReservations(), MFA: b.MFA()})
}
