// Package reservation is a fake of the part of reservation-service the BFF
// reads (docs/UPSTREAMS.md), under /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	GET P/today?date=YYYY-MM-DD      → {date, arrivals:{expected,checkedIn}, departures:{expected,checkedOut}, inHouse, noShows, roomsTotal, roomsAvailable}
//	GET P/arrivals?date=YYYY-MM-DD   → {date, items:[Stay]}
//	GET P/departures?date=YYYY-MM-DD → {date, items:[Stay]}
//	GET P/in-house                   → {items:[Stay]}
//	GET /v1/tenants/{tenantId}/reservations/{rsvId} → {reservationId, propertyId, status, roomNumber?, folioId?}
//	    (any stay of the property's business day: arriving, in house or departing)
//	POST P/reservations/{rsvId}/{check-in|check-out|force-checkout}
//	     Idempotency-Key: <requestId> (required; the same id never acts twice)
//	     check-in {} · check-out {} · force-checkout {reason}
//	     → 200 {reservationId, propertyId, status}
//	     → 404 MELMASTOON.RESERVATION.RESERVATION_NOT_FOUND (not the property's)
//	     → 409 MELMASTOON.RESERVATION.INVALID_STATE (check-in of a stay that is
//	           not expected; check-out of one not in house)
//	     → 422 MELMASTOON.RESERVATION.VALIDATION_FAILED, MELMASTOON.RESERVATION.IDEMPOTENCY_KEY_REUSED
//
// date defaults to the property's business date. Answers come from
// demo.Ops, which the other fakes share, so today's counts are the lengths
// of the lists and agree with the boards and revenue. A status set by a
// check-in or check-out is what the reservation lookup answers from then
// on; the day's lists stay the demo's (they are views, rebuilt from the
// clock). A repeated Idempotency-Key gets the first answer again (status
// and body) and changes nothing, so a retry of a lost answer never checks a
// guest out twice.
package reservation

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Name is the service's name in errors and stats.
const Name = "reservation-service"

// Actions are the stay mutations reservation-service performs.
var Actions = []string{"check-in", "check-out", "force-checkout"}

const (
	maxRequestID = 128
	maxReason    = 500
	maxRequests  = 100_000 // bounds the fake's memory under a runaway test
)

// Service is the fake. Safe for concurrent use.
type Service struct {
	*scoped.Service

	mu        sync.Mutex
	requests  map[string]*fakes.Stored // by tenant + "/" + Idempotency-Key
	status    map[string]string        // by tenant + "/" + rsvId: set by a mutation
	performed map[string]int           // performed mutations by action
}

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{requests: map[string]*fakes.Stored{}, status: map[string]string{}, performed: map[string]int{}}
	s.Service = scoped.New(Name, "RESERVATION", ops, []scoped.Route{
		{Path: "/today", Handle: s.today},
		{Path: "/arrivals", Handle: s.arrivals},
		{Path: "/departures", Handle: s.departures},
		{Path: "/in-house", Handle: s.inHouse},
		{Method: http.MethodPost, Path: "/reservations/{rsvId}/{action}", Handle: s.act},
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
					b := Booking{ReservationID: rsvID, PropertyID: p.ID, Status: st.Status, RoomNumber: st.RoomNumber, FolioID: st.FolioID}
					s.mu.Lock()
					if v, ok := s.status[tenantID+"/"+rsvID]; ok {
						b.Status = v
					}
					s.mu.Unlock()
					return b, true
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

// Performed is how many mutations of action ("check-in", "check-out",
// "force-checkout") changed a stay (replays and refusals not counted).
func (s *Service) Performed(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.performed[action]
}

type actBody struct {
	Reason *string `json:"reason"`
}

// act is POST P/reservations/{rsvId}/{action}.
func (s *Service) act(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
	tid, pid, rsv, action := r.PathValue("tenantId"), r.PathValue("propertyId"), r.PathValue("rsvId"), r.PathValue("action")
	if ids.Check(ids.Reservation, rsv) != nil {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "rsvId: malformed")
		return
	}
	if action != "check-in" && action != "check-out" && action != "force-checkout" {
		s.Problem(w, http.StatusNotFound, "NOT_FOUND", "no such action")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > maxRequestID {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "Idempotency-Key is required")
		return
	}
	var body actBody
	if err := fakes.DecodeJSON(r, &body); err != nil {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", err.Error())
		return
	}
	fp, _ := json.Marshal([]any{pid, rsv, action, body})
	b, found := s.Find(tid, rsv)

	s.mu.Lock()
	defer s.mu.Unlock()
	st, reused, full := fakes.Recall(s.requests, tid+"/"+key, string(fp), maxRequests)
	switch {
	case reused:
		s.Problem(w, http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", "key reused for another action")
		return
	case full:
		s.Problem(w, http.StatusServiceUnavailable, "CAPACITY", "too many requests")
		return
	case st == nil:
		st = &fakes.Stored{Fingerprint: string(fp)}
		// Find took the lock for the status it read; read it again under
		// this one so two different request ids for one stay serialise.
		if v, ok := s.status[tid+"/"+rsv]; ok {
			b.Status = v
		}
		const area = "MELMASTOON.RESERVATION."
		switch {
		case !found || b.PropertyID != pid:
			st.Status, st.Answer = fakes.Problem(http.StatusNotFound, area+"RESERVATION_NOT_FOUND", "no such reservation at the property")
		case action == "force-checkout" && (body.Reason == nil || *body.Reason == "" || len(*body.Reason) > maxReason):
			st.Status, st.Answer = fakes.Problem(http.StatusUnprocessableEntity, area+"VALIDATION_FAILED", "a forced check-out needs a reason")
		case action != "force-checkout" && body.Reason != nil:
			st.Status, st.Answer = fakes.Problem(http.StatusUnprocessableEntity, area+"VALIDATION_FAILED", "reason is only for a forced check-out")
		case action == "check-in" && b.Status != demo.StayExpected:
			st.Status, st.Answer = fakes.Problem(http.StatusConflict, area+"INVALID_STATE", "the stay is "+b.Status+", not expected")
		case action != "check-in" && b.Status != demo.StayCheckedIn:
			st.Status, st.Answer = fakes.Problem(http.StatusConflict, area+"INVALID_STATE", "the stay is "+b.Status+", not in house")
		default:
			next := demo.StayCheckedOut
			if action == "check-in" {
				next = demo.StayCheckedIn
			}
			s.status[tid+"/"+rsv] = next
			s.performed[action]++
			st.Status = http.StatusOK
			st.Answer, _ = json.Marshal(map[string]any{"reservationId": rsv, "propertyId": pid, "status": next})
		}
		s.requests[tid+"/"+key] = st
	}
	st.Write(w)
}
