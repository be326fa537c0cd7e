package devserver

import (
	"net/http"

	aidecision "github.com/melmastoon/bff-backoffice/functions/ai-decision"
	aiinbox "github.com/melmastoon/bff-backoffice/functions/ai-inbox"
	alertack "github.com/melmastoon/bff-backoffice/functions/alert-ack"
	alertraised "github.com/melmastoon/bff-backoffice/functions/alert-raised"
	alertresolved "github.com/melmastoon/bff-backoffice/functions/alert-resolved"
	"github.com/melmastoon/bff-backoffice/functions/alerts"
	"github.com/melmastoon/bff-backoffice/functions/arrivals"
	"github.com/melmastoon/bff-backoffice/functions/bootstrap-changed"
	"github.com/melmastoon/bff-backoffice/functions/dashboard"
	decisionforward "github.com/melmastoon/bff-backoffice/functions/decision-forward"
	"github.com/melmastoon/bff-backoffice/functions/departures"
	eventsfn "github.com/melmastoon/bff-backoffice/functions/events"
	"github.com/melmastoon/bff-backoffice/functions/housekeeping-board"
	"github.com/melmastoon/bff-backoffice/functions/housekeeping-changed"
	"github.com/melmastoon/bff-backoffice/functions/in-house"
	"github.com/melmastoon/bff-backoffice/functions/maintenance-board"
	"github.com/melmastoon/bff-backoffice/functions/maintenance-changed"
	outboxrelay "github.com/melmastoon/bff-backoffice/functions/outbox-relay"
	"github.com/melmastoon/bff-backoffice/functions/reservation-changed"
	sessionfn "github.com/melmastoon/bff-backoffice/functions/session"
	sessionrevoked "github.com/melmastoon/bff-backoffice/functions/session-revoked"
	suggestioncreated "github.com/melmastoon/bff-backoffice/functions/suggestion-created"
	suggestioninvalidated "github.com/melmastoon/bff-backoffice/functions/suggestion-invalidated"
	"github.com/melmastoon/bff-backoffice/functions/today"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency"
	"github.com/melmastoon/bff-backoffice/shared/inbox"
	"github.com/melmastoon/bff-backoffice/shared/livestream"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Deps are the instance-wide dependencies the dev server shares between
// the functions it hosts (each deployed function builds its own).
type Deps struct {
	Gate      *gate.Gate
	Resources *setup.Resources
	Consumer  *setup.Consumer
	Views     *views.Service
	Inboxes   *setup.Inboxes     // AI suggestion and alert inboxes
	Idem      *idempotency.Store // replay of mutating POSTs
	AI        *aiorchestrator.Client
	Live      *livestream.Server // the instance's one SSE hub

	// Jobs is for scheduled functions; nil without Options.JobsDatabaseURL.
	Jobs *setup.Jobs
}

// HTTPFunctions mounts each HTTP function of the manifest by name; a
// manifest entry missing here stops the dev server (and fails its test).
var HTTPFunctions = map[string]func(Deps) http.Handler{
	"ai-inbox":           func(d Deps) http.Handler { return aiinbox.New(d.Gate, d.Inboxes.Suggestions) },
	"ai-decision":        func(d Deps) http.Handler { return aidecision.New(d.Gate, d.Idem, d.Inboxes.Suggestions) },
	"alerts":             func(d Deps) http.Handler { return alerts.New(d.Gate, d.Inboxes.Alerts) },
	"alert-ack":          func(d Deps) http.Handler { return alertack.New(d.Gate, d.Idem, d.Inboxes.Alerts) },
	"session":            func(d Deps) http.Handler { return sessionfn.New(d.Gate) },
	"events":             func(d Deps) http.Handler { return eventsfn.New(d.Gate, d.Live) },
	"dashboard":          func(d Deps) http.Handler { return dashboard.New(d.Gate, d.Views) },
	"today":              func(d Deps) http.Handler { return today.New(d.Gate, d.Views) },
	"arrivals":           func(d Deps) http.Handler { return arrivals.New(d.Gate, d.Views) },
	"departures":         func(d Deps) http.Handler { return departures.New(d.Gate, d.Views) },
	"in-house":           func(d Deps) http.Handler { return inhouse.New(d.Gate, d.Views) },
	"housekeeping-board": func(d Deps) http.Handler { return housekeepingboard.New(d.Gate, d.Views) },
	"maintenance-board":  func(d Deps) http.Handler { return maintenanceboard.New(d.Gate, d.Views) },
}

// EventFunctions builds each event function's handler by name.
var EventFunctions = map[string]func(Deps) consume.Func{
	"suggestion-created":     func(d Deps) consume.Func { return suggestioncreated.New(d.Consumer.Redis) },
	"suggestion-invalidated": func(d Deps) consume.Func { return suggestioninvalidated.New(d.Consumer.Redis) },
	"alert-raised":           func(d Deps) consume.Func { return alertraised.New(d.Consumer.Redis) },
	"alert-resolved":         func(d Deps) consume.Func { return alertresolved.New(d.Consumer.Redis) },
	"session-revoked": func(d Deps) consume.Func {
		return sessionrevoked.New(d.Consumer.Redis, d.Consumer.Sessions, d.Consumer.Publisher)
	},
	"bootstrap-changed":    func(d Deps) consume.Func { return bootstrapchanged.New(d.Consumer.Redis) },
	"reservation-changed":  func(d Deps) consume.Func { return reservationchanged.New(d.Consumer.Redis) },
	"housekeeping-changed": func(d Deps) consume.Func { return housekeepingchanged.New(d.Consumer.Redis) },
	"maintenance-changed":  func(d Deps) consume.Func { return maintenancechanged.New(d.Consumer.Redis) },
}

// ScheduledFunctions builds each scheduled function's handler by name; the
// dev server mounts it at POST JobPath(name), where a developer or a test
// plays Cloud Scheduler.
var ScheduledFunctions = map[string]func(Deps) http.Handler{
	"decision-forward": func(d Deps) http.Handler {
		return decisionforward.New(d.Jobs.DB, d.AI, inbox.ForwardOptions{})
	},
	"outbox-relay": func(d Deps) http.Handler {
		return outboxrelay.New(d.Jobs.DB, d.Jobs.Publisher, nil, outbox.DrainOptions{})
	},
}
