// Package maintenance is a fake of maintenance-service's board
// (docs/UPSTREAMS.md):
//
//	GET /v1/tenants/{tenantId}/properties/{propertyId}/maintenance/board
//	    → {workOrders:[{id:"wo_…", roomNumber?, title, priority, status, reportedAt, assignee?}], summary:{open,inProgress,urgent}}
//
// Every out-of-order room of the housekeeping board has a work order, and
// the property with the critical lock alert has its urgent one.
package maintenance

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "maintenance-service"

// Service is the fake.
type Service struct{ *scoped.Service }

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	return &Service{scoped.New(Name, "MAINTENANCE", ops, []scoped.Route{
		{Path: "/maintenance/board", Handle: func(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
			fakes.WriteJSON(w, http.StatusOK, sn.MaintenanceBoard())
		}},
	}, opts...)}
}
