package events

import "slices"

// Subjects this service emits. All are telemetry about operators and
// devices; none asserts a domain fact another service should act on. The Pub/Sub topic id is the
// subject.
const (
	SessionOpened          = "melmastoon.bff.backoffice.session.opened.v1"
	SessionClosed          = "melmastoon.bff.backoffice.session.closed.v1"
	DashboardViewed        = "melmastoon.bff.backoffice.dashboard.viewed.v1"
	WorkbenchOpened        = "melmastoon.bff.backoffice.workbench.opened.v1"
	AISuggestionDecided    = "melmastoon.bff.backoffice.ai_suggestion.decided.v1"
	AlertAcknowledged      = "melmastoon.bff.backoffice.alert.acknowledged.v1"
	OperatorActivity       = "melmastoon.bff.backoffice.operator.activity.v1"
	DeviceHeartbeat        = "melmastoon.bff.backoffice.device.heartbeat.v1"
	DeviceHeartbeatLost    = "melmastoon.bff.backoffice.device.heartbeat.lost.v1"
	SyncCursorAdvanced     = "melmastoon.bff.backoffice.sync.cursor_advanced.v1"
	SyncHandshakeCompleted = "melmastoon.bff.backoffice.sync.handshake_completed.v1"
	LockActionProxied      = "melmastoon.bff.backoffice.lock.action_proxied.v1"
)

// Subjects this service consumes, owned by other services; consumers are
// idempotent by event id because Pub/Sub delivers at least once.
const (
	IAMSessionRevoked             = "melmastoon.iam.session.revoked.v1"
	IAMDeviceDeleted              = "melmastoon.iam.device.deleted.v1"
	AISuggestionCreated           = "melmastoon.ai.suggestion.created.v1"
	AISuggestionInvalidated       = "melmastoon.ai.suggestion.invalidated.v1"
	NotificationAlertRaised       = "melmastoon.notification.alert.raised.v1"
	NotificationAlertResolved     = "melmastoon.notification.alert.resolved.v1"
	TenantBootstrapVersionChanged = "melmastoon.tenant.bootstrap.version_changed.v1"
	ReservationChanged            = "melmastoon.reservation.changed.v1"
	HousekeepingChanged           = "melmastoon.housekeeping.changed.v1"
	MaintenanceChanged            = "melmastoon.maintenance.changed.v1"
)

var emitted = []string{
	SessionOpened, SessionClosed, DashboardViewed, WorkbenchOpened,
	AISuggestionDecided, AlertAcknowledged, OperatorActivity, DeviceHeartbeat,
	DeviceHeartbeatLost, SyncCursorAdvanced, SyncHandshakeCompleted, LockActionProxied,
}

var consumed = []string{
	IAMSessionRevoked, IAMDeviceDeleted, AISuggestionCreated, AISuggestionInvalidated,
	NotificationAlertRaised, NotificationAlertResolved, TenantBootstrapVersionChanged,
	ReservationChanged, HousekeepingChanged, MaintenanceChanged,
}

// registered holds the registry's subjects, each checked against the
// subject format once here (a malformed one is left out, so CheckSubject
// still refuses it and the registry's test fails).
var registered = func() map[string]bool {
	m := make(map[string]bool, len(emitted)+len(consumed))
	for _, s := range slices.Concat(emitted, consumed) {
		if len(s) <= maxSubjectLen && subjectRE.MatchString(s) {
			m[s] = true
		}
	}
	return m
}()

// Emitted returns every subject this service publishes, for creating topics
// in dev and for checking the Terraform against the code.
func Emitted() []string { return slices.Clone(emitted) }

// Consumed returns every subject this service subscribes to.
func Consumed() []string { return slices.Clone(consumed) }
