// Package revenue is a fake of revenue-service (docs/UPSTREAMS.md), under
// /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	GET P/occupancy?date=YYYY-MM-DD → {date, roomsTotal, roomsOccupied, occupancyPct, adr, revpar}
//	GET P/revenue?date=YYYY-MM-DD   → {date, roomRevenue, otherRevenue, monthToDate}
//
// Money is in the property's currency; roomsOccupied is
// reservation-service's inHouse for the same date.
package revenue

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "revenue-service"

// Service is the fake.
type Service struct{ *scoped.Service }

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{}
	s.Service = scoped.New(Name, "REVENUE", ops, []scoped.Route{
		{Path: "/occupancy", Handle: func(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
			if d, ok := s.Date(w, r, sn); ok {
				fakes.WriteJSON(w, http.StatusOK, sn.Occupancy(d))
			}
		}},
		{Path: "/revenue", Handle: func(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
			if d, ok := s.Date(w, r, sn); ok {
				fakes.WriteJSON(w, http.StatusOK, sn.Revenue(d))
			}
		}},
	}, opts...)
	return s
}
