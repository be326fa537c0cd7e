package devserver

import (
	activity "github.com/melmastoon/bff-backoffice/functions/activity"
	aidecision "github.com/melmastoon/bff-backoffice/functions/ai-decision"
	aiinbox "github.com/melmastoon/bff-backoffice/functions/ai-inbox"
	alertack "github.com/melmastoon/bff-backoffice/functions/alert-ack"
	alertraised "github.com/melmastoon/bff-backoffice/functions/alert-raised"
	alertresolved "github.com/melmastoon/bff-backoffice/functions/alert-resolved"
	"github.com/melmastoon/bff-backoffice/functions/alerts"
	"github.com/melmastoon/bff-backoffice/functions/arrivals"
	bootstrapchanged "github.com/melmastoon/bff-backoffice/functions/bootstrap-changed"
	"github.com/melmastoon/bff-backoffice/functions/dashboard"
	decisionforward "github.com/melmastoon/bff-backoffice/functions/decision-forward"
	"github.com/melmastoon/bff-backoffice/functions/departures"
	devicedeleted "github.com/melmastoon/bff-backoffice/functions/device-deleted"
	deviceheartbeat "github.com/melmastoon/bff-backoffice/functions/device-heartbeat"
	devicehints "github.com/melmastoon/bff-backoffice/functions/device-hints"
	devices "github.com/melmastoon/bff-backoffice/functions/devices"
	eventsfn "github.com/melmastoon/bff-backoffice/functions/events"
	exportactivity "github.com/melmastoon/bff-backoffice/functions/export-activity"
	folioaction "github.com/melmastoon/bff-backoffice/functions/folio-action"
	heartbeatsweeper "github.com/melmastoon/bff-backoffice/functions/heartbeat-sweeper"
	housekeepingboard "github.com/melmastoon/bff-backoffice/functions/housekeeping-board"
	housekeepingchanged "github.com/melmastoon/bff-backoffice/functions/housekeeping-changed"
	inhouse "github.com/melmastoon/bff-backoffice/functions/in-house"
	lockaction "github.com/melmastoon/bff-backoffice/functions/lock-action"
	lockreconcile "github.com/melmastoon/bff-backoffice/functions/lock-reconcile"
	maintenanceboard "github.com/melmastoon/bff-backoffice/functions/maintenance-board"
	maintenancechanged "github.com/melmastoon/bff-backoffice/functions/maintenance-changed"
	mfachallenge "github.com/melmastoon/bff-backoffice/functions/mfa-challenge"
	mfaverify "github.com/melmastoon/bff-backoffice/functions/mfa-verify"
	outboxrelay "github.com/melmastoon/bff-backoffice/functions/outbox-relay"
	preferences "github.com/melmastoon/bff-backoffice/functions/preferences"
	reservationaction "github.com/melmastoon/bff-backoffice/functions/reservation-action"
	reservationchanged "github.com/melmastoon/bff-backoffice/functions/reservation-changed"
	retention "github.com/melmastoon/bff-backoffice/functions/retention"
	sessionfn "github.com/melmastoon/bff-backoffice/functions/session"
	sessionrevoked "github.com/melmastoon/bff-backoffice/functions/session-revoked"
	sessionsweeper "github.com/melmastoon/bff-backoffice/functions/session-sweeper"
	shortcuts "github.com/melmastoon/bff-backoffice/functions/shortcuts"
	suggestioncreated "github.com/melmastoon/bff-backoffice/functions/suggestion-created"
	suggestioninvalidated "github.com/melmastoon/bff-backoffice/functions/suggestion-invalidated"
	synccursor "github.com/melmastoon/bff-backoffice/functions/sync-cursor"
	synchandshake "github.com/melmastoon/bff-backoffice/functions/sync-handshake"
	"github.com/melmastoon/bff-backoffice/functions/today"
	verifyledger "github.com/melmastoon/bff-backoffice/functions/verify-ledger"
	"github.com/melmastoon/bff-backoffice/shared/boot"
)

// Functions is every function the dev server hosts, each started through
// its own boot.Function exactly as deployed. `go run ./infra/cmd/newfunc`
// adds to it; a manifest function missing here stops the dev server.
var Functions = []boot.Function{
	aidecision.Function,
	aiinbox.Function,
	alertack.Function,
	alertraised.Function,
	alertresolved.Function,
	alerts.Function,
	arrivals.Function,
	bootstrapchanged.Function,
	dashboard.Function,
	decisionforward.Function,
	departures.Function,
	eventsfn.Function,
	housekeepingboard.Function,
	housekeepingchanged.Function,
	inhouse.Function,
	maintenanceboard.Function,
	maintenancechanged.Function,
	outboxrelay.Function,
	reservationchanged.Function,
	sessionfn.Function,
	sessionrevoked.Function,
	suggestioncreated.Function,
	suggestioninvalidated.Function,
	today.Function,
	sessionsweeper.Function,
	activity.Function,
	exportactivity.Function,
	retention.Function,
	deviceheartbeat.Function,
	devices.Function,
	devicehints.Function,
	heartbeatsweeper.Function,
	devicedeleted.Function,
	synccursor.Function,
	synchandshake.Function,
	preferences.Function,
	mfachallenge.Function,
	mfaverify.Function,
	lockaction.Function,
	lockreconcile.Function,
	folioaction.Function,
	reservationaction.Function,
	verifyledger.Function,
	shortcuts.Function,
}

// Lookup returns the registered function called name.
func Lookup(name string) (boot.Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return boot.Function{}, false
}
