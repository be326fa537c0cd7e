package devserver

import (
	"net/http"

	sessionfn "github.com/melmastoon/bff-backoffice/functions/session"
	sessionrevoked "github.com/melmastoon/bff-backoffice/functions/session-revoked"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// HTTPFunctions mounts each HTTP function of the manifest by name; a
// manifest entry missing here stops the dev server (and fails its test).
var HTTPFunctions = map[string]func(*gate.Gate, *setup.Resources) http.Handler{
	"session": func(g *gate.Gate, _ *setup.Resources) http.Handler { return sessionfn.New(g) },
}

// EventFunctions builds each event function's handler by name.
var EventFunctions = map[string]func(*setup.Consumer) consume.Func{
	"session-revoked": func(c *setup.Consumer) consume.Func {
		return sessionrevoked.New(c.Redis, c.Sessions, c.Publisher)
	},
}
