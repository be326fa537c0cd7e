// Package syncsvc is a fake of sync-service's view of the desktops
// (docs/UPSTREAMS.md):
//
//	GET /v1/tenants/{tenantId}/properties/{propertyId}/devices/status
//	    → {devices:[{deviceId, lastSeenAt, pendingPush, lagSeconds}], summary:{online, lagging, offline}}
//
// The devices are the demo operators' (at their home property) and two
// shared terminals; one is always lagging and one offline.
package syncsvc

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "sync-service"

// Service is the fake.
type Service struct{ *scoped.Service }

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	return &Service{scoped.New(Name, "SYNC", ops, []scoped.Route{
		{Path: "/devices/status", Handle: func(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
			fakes.WriteJSON(w, http.StatusOK, sn.Devices())
		}},
	}, opts...)}
}
