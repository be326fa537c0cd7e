// Package housekeeping is a fake of housekeeping-service's board
// (docs/UPSTREAMS.md):
//
//	GET /v1/tenants/{tenantId}/properties/{propertyId}/housekeeping/board
//	    → {rooms:[{roomNumber, roomType, status, occupied, assignee?, priority, updatedAt}], summary:{clean,dirty,inspected,outOfOrder}}
//
// Every room of the property is on the board (reservation-service's
// roomsTotal), occupied where a guest is checked in.
package housekeeping

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "housekeeping-service"

// Service is the fake.
type Service struct{ *scoped.Service }

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	return &Service{scoped.New(Name, "HOUSEKEEPING", ops, []scoped.Route{
		{Path: "/housekeeping/board", Handle: func(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
			fakes.WriteJSON(w, http.StatusOK, sn.HousekeepingBoard())
		}},
	}, opts...)}
}
