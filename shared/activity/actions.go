package activity

import "slices"

// Actions the ledger records, one constant per row kind an endpoint
// writes. Auditors and dashboards query the ledger by these names, so a
// name, once shipped, never changes meaning: add a new one instead. Each
// name is lower-case "<resource>.<verb>" (a workbench view's kind in the
// middle for its per-view action) and belongs to exactly one category,
// listed in Actions.
const (
	// ActionSessionOpened is written, next to the request's own row, by the
	// request that opened the device's session.
	ActionSessionOpened = "session.opened"
	// ActionSessionRefused is a verified operator whose session could not
	// be resolved (revoked, wrong device, no property scope).
	ActionSessionRefused = "session.refused"
	// ActionSessionViewed is GET /v1/session.
	ActionSessionViewed = "session.viewed"
	// ActionSessionUpdated is PATCH /v1/session (primary property, locale).
	ActionSessionUpdated = "session.updated"
	// ActionSessionSignedOut is DELETE /v1/session.
	ActionSessionSignedOut = "session.signed_out"

	// ActionDashboardViewed is GET /v1/dashboard.
	ActionDashboardViewed = "dashboard.viewed"
	// ActionEventsConnected is GET /v1/events, the device's live stream.
	ActionEventsConnected = "events.connected"

	// ActionAIInboxViewed is GET /v1/ai/suggestions.
	ActionAIInboxViewed = "ai_inbox.viewed"
	// ActionAISuggestionDecide is an operator's decision on an AI
	// suggestion.
	ActionAISuggestionDecide = "ai_suggestion.decide"
	// ActionAlertInboxViewed is GET /v1/alerts.
	ActionAlertInboxViewed = "alert_inbox.viewed"
	// ActionAlertAcknowledge is an operator's acknowledgement of an alert.
	ActionAlertAcknowledge = "alert.acknowledge"

	// ActionMutationRefused is a mutation the idempotency layer refused
	// before it ran (no or a malformed Idempotency-Key, the key in flight
	// or reused with another body): the resource is the request's path.
	ActionMutationRefused = "mutation.refused"

	// ActionActivityViewed is GET /v1/activity.
	ActionActivityViewed = "activity.viewed"
	// ActionDeviceHeartbeat is POST /v1/devices/heartbeat.
	ActionDeviceHeartbeat = "device.heartbeat"
	// ActionDevicesViewed is GET /v1/devices.
	ActionDevicesViewed = "devices.viewed"
	// ActionDeviceHintsViewed is GET /v1/devices/hints.
	ActionDeviceHintsViewed = "device_hints.viewed"
	// ActionSyncCursorRefreshed is POST /v1/sync/cursor.
	ActionSyncCursorRefreshed = "sync.cursor_refreshed"
	// ActionSyncHandshake is POST /v1/sync/handshake.
	ActionSyncHandshake = "sync.handshake"
	// ActionPreferencesViewed is GET /v1/preferences.
	ActionPreferencesViewed = "preferences.viewed"
	// ActionPreferencesChanged is PUT /v1/preferences.
	ActionPreferencesChanged = "preferences.changed"
	// ActionShortcutsViewed is GET /v1/shortcuts.
	ActionShortcutsViewed = "shortcuts.viewed"
	// ActionShortcutsChanged is PUT /v1/shortcuts.
	ActionShortcutsChanged = "shortcuts.changed"
	// ActionMFAChallengeCreate is POST /v1/mfa/challenges: a step-up
	// challenge asked of iam-service.
	ActionMFAChallengeCreate = "mfa_challenge.create"
	// ActionMFAChallengeVerify is POST /v1/mfa/challenges/{id}/verify: a
	// code presented, an attestation issued or refused.
	ActionMFAChallengeVerify = "mfa_challenge.verify"

	// The door-key actions (POST /v1/reservations/{rsvId}/keys/{action}),
	// proxied to lock-service: DoorKey(action).
	ActionDoorKeyIssue  = "door_key.issue"
	ActionDoorKeyRevoke = "door_key.revoke"
	ActionDoorKeyRebind = "door_key.rebind"
	ActionDoorKeyExtend = "door_key.extend"

	// ActionFolioAdjust is POST /v1/folios/{folId}/adjustments, proxied to
	// folio-service.
	ActionFolioAdjust = "folio.adjust"
	// ActionFolioRefund is POST /v1/folios/{folId}/refunds.
	ActionFolioRefund = "folio.refund"

	// The stay mutations (POST /v1/reservations/{rsvId}/{check-in|
	// check-out|force-checkout}), proxied to reservation-service.
	ActionReservationCheckIn       = "reservation.check_in"
	ActionReservationCheckOut      = "reservation.check_out"
	ActionReservationForceCheckout = "reservation.force_checkout"

	// The workbench views, one action each: WorkbenchOpened(kind).
	ActionWorkbenchTodayOpened             = "workbench.today.opened"
	ActionWorkbenchArrivalsOpened          = "workbench.arrivals.opened"
	ActionWorkbenchDeparturesOpened        = "workbench.departures.opened"
	ActionWorkbenchInHouseOpened           = "workbench.in-house.opened"
	ActionWorkbenchHousekeepingBoardOpened = "workbench.housekeeping-board.opened"
	ActionWorkbenchMaintenanceBoardOpened  = "workbench.maintenance-board.opened"
)

// WorkbenchOpened is the action of opening workbench view kind (its path
// segment, e.g. "in-house"); the result is one of the ActionWorkbench*
// constants for every view that exists.
func WorkbenchOpened(kind string) string { return "workbench." + kind + ".opened" }

// DoorKey is the action of door-key action a ("issue", …); the result is
// one of the ActionDoorKey* constants for every action lock-service takes.
func DoorKey(a string) string { return "door_key." + a }

// Action is a registered action and the category its rows carry.
type Action struct {
	Name     string
	Category Category
}

var actions = []Action{
	{ActionSessionOpened, CategoryAuth},
	{ActionSessionRefused, CategoryAuth},
	{ActionSessionViewed, CategoryView},
	{ActionSessionUpdated, CategoryPreferencesChanged},
	{ActionSessionSignedOut, CategoryAuth},
	{ActionDashboardViewed, CategoryView},
	{ActionEventsConnected, CategoryView},
	{ActionAIInboxViewed, CategoryView},
	{ActionAISuggestionDecide, CategoryAIDecision},
	{ActionAlertInboxViewed, CategoryView},
	{ActionAlertAcknowledge, CategoryAlertAck},
	{ActionMutationRefused, CategoryMutationProxy},
	{ActionActivityViewed, CategoryView},
	{ActionDeviceHeartbeat, CategoryOther},
	{ActionDevicesViewed, CategoryView},
	{ActionDeviceHintsViewed, CategoryView},
	{ActionSyncCursorRefreshed, CategorySyncHandshake},
	{ActionSyncHandshake, CategorySyncHandshake},
	{ActionPreferencesViewed, CategoryView},
	{ActionPreferencesChanged, CategoryPreferencesChanged},
	{ActionShortcutsViewed, CategoryView},
	{ActionShortcutsChanged, CategoryPreferencesChanged},
	{ActionMFAChallengeCreate, CategoryAuth},
	{ActionMFAChallengeVerify, CategoryAuth},
	{ActionDoorKeyIssue, CategoryLockAction},
	{ActionDoorKeyRevoke, CategoryLockAction},
	{ActionDoorKeyRebind, CategoryLockAction},
	{ActionDoorKeyExtend, CategoryLockAction},
	{ActionFolioAdjust, CategoryMutationProxy},
	{ActionFolioRefund, CategoryMutationProxy},
	{ActionReservationCheckIn, CategoryMutationProxy},
	{ActionReservationCheckOut, CategoryMutationProxy},
	{ActionReservationForceCheckout, CategoryMutationProxy},
	{ActionWorkbenchTodayOpened, CategoryView},
	{ActionWorkbenchArrivalsOpened, CategoryView},
	{ActionWorkbenchDeparturesOpened, CategoryView},
	{ActionWorkbenchInHouseOpened, CategoryView},
	{ActionWorkbenchHousekeepingBoardOpened, CategoryView},
	{ActionWorkbenchMaintenanceBoardOpened, CategoryView},
}

// Actions lists every registered action.
func Actions() []Action { return slices.Clone(actions) }

// CategoryOf returns the category of a registered action; ok is false for
// a name that is not registered.
func CategoryOf(name string) (c Category, ok bool) {
	i := slices.IndexFunc(actions, func(a Action) bool { return a.Name == name })
	if i < 0 {
		return "", false
	}
	return actions[i].Category, true
}
