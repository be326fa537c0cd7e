package devserver

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/functions/arrivals"
	"github.com/melmastoon/bff-backoffice/functions/bootstrap-changed"
	"github.com/melmastoon/bff-backoffice/functions/dashboard"
	"github.com/melmastoon/bff-backoffice/functions/departures"
	"github.com/melmastoon/bff-backoffice/functions/housekeeping-board"
	"github.com/melmastoon/bff-backoffice/functions/housekeeping-changed"
	"github.com/melmastoon/bff-backoffice/functions/in-house"
	"github.com/melmastoon/bff-backoffice/functions/maintenance-board"
	"github.com/melmastoon/bff-backoffice/functions/maintenance-changed"
	"github.com/melmastoon/bff-backoffice/functions/reservation-changed"
	sessionfn "github.com/melmastoon/bff-backoffice/functions/session"
	sessionrevoked "github.com/melmastoon/bff-backoffice/functions/session-revoked"
	"github.com/melmastoon/bff-backoffice/functions/today"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Deps are the instance-wide dependencies the dev server shares between
// the functions it hosts (each deployed function builds its own).
type Deps struct {
	Gate      *gate.Gate
	Resources *setup.Resources
	Consumer  *setup.Consumer
	Views     *views.Service
}

// HTTPFunctions mounts each HTTP function of the manifest by name; a
// manifest entry missing here stops the dev server (and fails its test).
var HTTPFunctions = map[string]func(Deps) http.Handler{
	"session":            func(d Deps) http.Handler { return sessionfn.New(d.Gate) },
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
	"session-revoked": func(d Deps) consume.Func {
		return sessionrevoked.New(d.Consumer.Redis, d.Consumer.Sessions, d.Consumer.Publisher)
	},
	"bootstrap-changed":    func(d Deps) consume.Func { return bootstrapchanged.New(d.Consumer.Redis) },
	"reservation-changed":  func(d Deps) consume.Func { return reservationchanged.New(d.Consumer.Redis) },
	"housekeeping-changed": func(d Deps) consume.Func { return housekeepingchanged.New(d.Consumer.Redis) },
	"maintenance-changed":  func(d Deps) consume.Func { return maintenancechanged.New(d.Consumer.Redis) },
}
