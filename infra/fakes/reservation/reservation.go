// Package reservation is a fake of the part of reservation-service the BFF
// reads (docs/UPSTREAMS.md), under /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	GET P/today?date=YYYY-MM-DD      → {date, arrivals:{expected,checkedIn}, departures:{expected,checkedOut}, inHouse, noShows, roomsTotal, roomsAvailable}
//	GET P/arrivals?date=YYYY-MM-DD   → {date, items:[Stay]}
//	GET P/departures?date=YYYY-MM-DD → {date, items:[Stay]}
//	GET P/in-house                   → {items:[Stay]}
//	GET /v1/tenants/{tenantId}/reservations/{rsvId} → {reservationId, propertyId, status, roomNumber?, folioId?}
//	    (any stay of the property's business day: arriving, in house or departing)
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
	"github.com/melmastoon/bff-backoffice/shared/ids"
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
	s.HandleTenant("GET /v1/tenants/{tenantId}/reservations/{rsvId}", s.reservation)
	return s
}

// Booking is GET /v1/tenants/{t}/reservations/{rsvId}.
type Booking struct {
	ReservationID string `json:"reservationId"`
	PropertyID    string `json:"propertyId"`
	Status        string `json:"status"`
	RoomNumber    string `json:"roomNumber,omitempty"`
	FolioID       string `json:"folioId,omitempty"`
}

// Find looks a reservation up across the tenant's properties.
func (s *Service) Find(tenantID, rsvID string) (Booking, bool) {
	t, ok := s.Ops().Dataset().Tenant(tenantID)
	if !ok {
		return Booking{}, false
	}
	for _, p := range t.Properties {
		sn, err := s.Ops().Snapshot(tenantID, p.ID)
		if err != nil {
			continue
		}
		for _, doc := range []demo.StaysDoc{sn.InHouse(), sn.Arrivals(sn.Today), sn.Departures(sn.Today)} {
			for _, st := range doc.Items {
				if st.ReservationID == rsvID {
					return Booking{ReservationID: rsvID, PropertyID: p.ID, Status: st.Status, RoomNumber: st.RoomNumber, FolioID: st.FolioID}, true
				}
			}
		}
	}
	return Booking{}, false
}

func (s *Service) reservation(w http.ResponseWriter, r *http.Request) {
	if ids.Check(ids.Tenant, r.PathValue("tenantId")) != nil || ids.Check(ids.Reservation, r.PathValue("rsvId")) != nil {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "malformed id")
		return
	}
	b, ok := s.Find(r.PathValue("tenantId"), r.PathValue("rsvId"))
	if !ok {
		s.Problem(w, http.StatusNotFound, "RESERVATION_NOT_FOUND", "no such reservation")
		return
	}
	fakes.WriteJSON(w, http.StatusOK, b)
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
