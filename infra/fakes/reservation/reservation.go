// Package reservation is a fake of the part of reservation-service the BFF
// reads (docs/UPSTREAMS.md), under /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	GET P/today?date=YYYY-MM-DD      → {date, arrivals:{expected,checkedIn}, departures:{expected,checkedOut}, inHouse, noShows, roomsTotal, roomsAvailable}
//	GET P/arrivals?date=YYYY-MM-DD   → {date, items:[Stay]}
//	GET P/departures?date=YYYY-MM-DD → {date, items:[Stay]}
//	GET P/in-house                   → {items:[Stay]}
//
// date defaults to the property's business date. Answers come from
// demo.Ops, which the other fakes share, so today's counts are the lengths
// of the lists and agree with the boards and revenue.
package reservation

import (
	"net/http"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "reservation-service"

// Service is the fake.
type Service struct{ *scoped.Service }

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{}
	s.Service = scoped.New(Name, "RESERVATION", ops, []scoped.Route{
		{Path: "/today", Handle: s.today},
		{Path: "/arrivals", Handle: s.arrivals},
		{Path: "/departures", Handle: s.departures},
		{Path: "/in-house", Handle: s.inHouse},
	}, opts...)
	return s
}

func (s *Service) today(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
	if d, ok := s.Date(w, r, sn); ok {
		fakes.WriteJSON(w, http.StatusOK, sn.TodaySummary(d))
	}
}

func (s *Service) arrivals(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
	if d, ok := s.Date(w, r, sn); ok {
		fakes.WriteJSON(w, http.StatusOK, sn.Arrivals(d))
	}
}

func (s *Service) departures(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
	if d, ok := s.Date(w, r, sn); ok {
		fakes.WriteJSON(w, http.StatusOK, sn.Departures(d))
	}
}

func (s *Service) inHouse(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
	fakes.WriteJSON(w, http.StatusOK, sn.InHouse())
}
