// Package lock is a fake of lock-service, the door-lock gateway in front of
// each property's lock vendor (ttlock, salto, assa-vostio,
// wiegand-generic). Under /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	POST reservations/{rsvId}/keys/{issue|revoke|rebind|extend}
//	     Idempotency-Key: <requestId> (required; the same id never acts twice)
//	     issue {roomNumber, validUntil} · revoke {} · rebind {roomNumber} · extend {validUntil}
//	     → 201 {requestId, action, vendor, outcome: "success", keyIds, completedAt}
//	     → 409 MELMASTOON.LOCK.NO_ACTIVE_KEY   revoke/rebind/extend without an active key
//	     → 422 MELMASTOON.LOCK.VALIDATION_FAILED, MELMASTOON.LOCK.IDEMPOTENCY_KEY_REUSED
//	GET  reservations/{rsvId}/keys   → {items: [{keyId, state: active|revoked, roomNumber, validUntil, vendor}]}
//	GET  requests/{requestId}        → the stored answer {requestId, status, answer}; 404 when never received
//
// A repeated Idempotency-Key gets the first answer again (status and body),
// so a retry of a lost answer never cuts a second key.
//
// Besides the shared /__stats and /__faults, lock-specific faults:
//
//	POST   /__lock/faults {"silentRevoke": bool, "holdAnswers": bool} → 204
//	DELETE /__lock/faults → 204
//
// silentRevoke: a revoke reports success and changes nothing (the vendor
// bug verified revokes exist for). holdAnswers: an action is performed and
// its answer stored, then the request hangs until its client gives up — the
// answer is lost, as when the caller dies or the network drops after the
// vendor acted.
package lock

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// Name is the service's name in errors and stats.
const Name = "lock-service"

// Vendors are the lock vendors lock-service fronts.
var Vendors = []string{"ttlock", "salto", "assa-vostio", "wiegand-generic"}

// Actions lock-service performs.
var Actions = []string{"issue", "revoke", "rebind", "extend"}

// Key states.
const (
	StateActive  = "active"
	StateRevoked = "revoked"
)

const (
	maxRequestID = 128
	maxRoom      = 16
	maxKeys      = 200_000 // bounds the fake's memory under a runaway test
)

// Key is one door key.
type Key struct {
	KeyID      string        `json:"keyId"`
	State      string        `json:"state"`
	RoomNumber string        `json:"roomNumber"`
	ValidUntil jsontime.Time `json:"validUntil"`
	Vendor     string        `json:"vendor"`

	tenantID, propertyID, reservationID string
}

// Faults are the lock-specific misbehaviours.
type Faults struct {
	SilentRevoke bool `json:"silentRevoke"`
	HoldAnswers  bool `json:"holdAnswers"`
}

// Service is the fake. Safe for concurrent use.
type Service struct {
	fake *fakes.Fake

	mu       sync.Mutex
	keys     map[string]*Key          // by keyId
	requests map[string]*fakes.Stored // by tenant + "/" + requestId
	vendors  map[string]string        // by propertyId, overriding the default
	faults   Faults
	actions  map[string]int // performed actions by name, for tests
	released chan struct{}
}

// New builds the fake.
func New(opts ...fakes.Option) *Service {
	s := &Service{
		keys: map[string]*Key{}, requests: map[string]*fakes.Stored{}, vendors: map[string]string{},
		actions: map[string]int{}, released: make(chan struct{}),
	}
	mux := http.NewServeMux()
	base := "/v1/tenants/{tenantId}/properties/{propertyId}/"
	mux.HandleFunc("POST "+base+"reservations/{rsvId}/keys/{action}", s.serveAction)
	mux.HandleFunc("GET "+base+"reservations/{rsvId}/keys", s.serveKeys)
	mux.HandleFunc("GET "+base+"requests/{requestId}", s.serveRequest)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.LOCK.NOT_FOUND", "no route for "+r.Method+" "+r.URL.Path)
	})
	s.fake = fakes.New(Name, mux, append([]fakes.Option{fakes.WithControl("/__lock/faults", http.HandlerFunc(s.serveFaults))}, opts...)...)
	return s
}

// Handler is the fake's HTTP handler (with stats and faults).
func (s *Service) Handler() http.Handler { return s.fake }

// Fake is the wrapper, for stats and faults from Go.
func (s *Service) Fake() *fakes.Fake { return s.fake }

// Vendor is the vendor of a property's locks: fixed per property, spread
// over every vendor so the demo hotels exercise more than one.
func (s *Service) Vendor(propertyID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vendorLocked(propertyID)
}

func (s *Service) vendorLocked(propertyID string) string {
	if v, ok := s.vendors[propertyID]; ok {
		return v
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(propertyID))
	return Vendors[h.Sum32()%uint32(len(Vendors))]
}

// SetVendor makes propertyID's locks vendor's.
func (s *Service) SetVendor(propertyID, vendor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vendors[propertyID] = vendor
}

// SetFaults installs the lock-specific faults (the zero value clears them).
// Clearing holdAnswers releases the requests it holds.
func (s *Service) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.HoldAnswers && !f.HoldAnswers {
		close(s.released)
		s.released = make(chan struct{})
	}
	s.faults = f
}

// Keys returns a copy of every key of a reservation.
func (s *Service) Keys(tenantID, reservationID string) []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Key
	for _, k := range s.keys {
		if k.tenantID == tenantID && k.reservationID == reservationID {
			out = append(out, *k)
		}
	}
	return out
}

// Performed is how many times action was actually performed (replays of a
// request id and refusals not counted).
func (s *Service) Performed(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.actions[action]
}

// Answered reports whether lock-service holds an answer for requestID.
func (s *Service) Answered(tenantID, requestID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.requests[tenantID+"/"+requestID]
	return ok
}

type actionBody struct {
	RoomNumber string        `json:"roomNumber,omitempty"`
	ValidUntil jsontime.Time `json:"validUntil,omitzero"`
}

func (s *Service) serveAction(w http.ResponseWriter, r *http.Request) {
	tid, pid, rsv, action := r.PathValue("tenantId"), r.PathValue("propertyId"), r.PathValue("rsvId"), r.PathValue("action")
	if ids.Check(ids.Tenant, tid) != nil || ids.Check(ids.Property, pid) != nil || ids.Check(ids.Reservation, rsv) != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.LOCK.VALIDATION_FAILED", "malformed id in path")
		return
	}
	reqID := r.Header.Get("Idempotency-Key")
	if reqID == "" || len(reqID) > maxRequestID {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.LOCK.VALIDATION_FAILED", "Idempotency-Key is required (at most 128 characters)")
		return
	}
	var body actionBody
	if err := fakes.DecodeJSON(r, &body); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.LOCK.VALIDATION_FAILED", err.Error())
		return
	}
	fp, _ := json.Marshal([]any{pid, rsv, action, body})

	s.mu.Lock()
	key := tid + "/" + reqID
	st, reused, _ := fakes.Recall(s.requests, key, string(fp), 0)
	seen := st != nil
	switch {
	case reused:
		s.mu.Unlock()
		fakes.WriteProblem(w, http.StatusUnprocessableEntity, "MELMASTOON.LOCK.IDEMPOTENCY_KEY_REUSED", "request id reused for another action")
		return
	case !seen:
		status, answer := s.performLocked(tid, pid, rsv, action, reqID, body)
		st = &fakes.Stored{Fingerprint: string(fp), Status: status, Answer: answer}
		s.requests[key] = st
	}
	hold, released := s.faults.HoldAnswers && !seen, s.released
	s.mu.Unlock()

	if hold {
		select {
		case <-r.Context().Done():
			return
		case <-released:
		}
	}
	st.Write(w)
}

// performLocked does one action; s.mu is held.
func (s *Service) performLocked(tid, pid, rsv, action, reqID string, body actionBody) (int, json.RawMessage) {
	now := time.Now()
	var active []*Key
	for _, k := range s.keys {
		if k.tenantID == tid && k.propertyID == pid && k.reservationID == rsv && k.State == StateActive {
			active = append(active, k)
		}
	}
	needRoom := action == "issue" || action == "rebind"
	needUntil := action == "issue" || action == "extend"
	switch {
	case action != "issue" && action != "revoke" && action != "rebind" && action != "extend":
		return fakes.Problem(http.StatusNotFound, "MELMASTOON.LOCK.NOT_FOUND", "unknown action")
	case needRoom && (body.RoomNumber == "" || len(body.RoomNumber) > maxRoom):
		return fakes.Problem(http.StatusUnprocessableEntity, "MELMASTOON.LOCK.VALIDATION_FAILED", "roomNumber is required")
	case !needRoom && body.RoomNumber != "":
		return fakes.Problem(http.StatusUnprocessableEntity, "MELMASTOON.LOCK.VALIDATION_FAILED", "roomNumber is not allowed")
	case needUntil && !body.ValidUntil.After(now):
		return fakes.Problem(http.StatusUnprocessableEntity, "MELMASTOON.LOCK.VALIDATION_FAILED", "validUntil must be in the future")
	case !needUntil && !body.ValidUntil.IsZero():
		return fakes.Problem(http.StatusUnprocessableEntity, "MELMASTOON.LOCK.VALIDATION_FAILED", "validUntil is not allowed")
	case action != "issue" && len(active) == 0:
		return fakes.Problem(http.StatusConflict, "MELMASTOON.LOCK.NO_ACTIVE_KEY", "the reservation has no active key")
	case action == "issue" && len(s.keys) >= maxKeys:
		return fakes.Problem(http.StatusServiceUnavailable, "MELMASTOON.LOCK.CAPACITY", "too many keys")
	}
	vendor := s.vendorLocked(pid)
	keyIDs := []string{}
	switch action {
	case "issue":
		k := &Key{
			KeyID: "key_" + ids.New(ids.Event)[4:], State: StateActive, RoomNumber: body.RoomNumber,
			ValidUntil: jsontime.Of(body.ValidUntil.Time), Vendor: vendor, tenantID: tid, propertyID: pid, reservationID: rsv,
		}
		s.keys[k.KeyID] = k
		keyIDs = append(keyIDs, k.KeyID)
	default:
		for _, k := range active {
			keyIDs = append(keyIDs, k.KeyID)
			switch {
			case action == "revoke" && !s.faults.SilentRevoke:
				k.State = StateRevoked
			case action == "rebind":
				k.RoomNumber = body.RoomNumber
			case action == "extend":
				k.ValidUntil = jsontime.Of(body.ValidUntil.Time)
			}
		}
	}
	s.actions[action]++
	b, _ := json.Marshal(map[string]any{
		"requestId": reqID, "action": action, "vendor": vendor, "outcome": "success",
		"keyIds": keyIDs, "completedAt": jsontime.Of(now),
	})
	return http.StatusCreated, b
}

func (s *Service) serveKeys(w http.ResponseWriter, r *http.Request) {
	tid, pid, rsv := r.PathValue("tenantId"), r.PathValue("propertyId"), r.PathValue("rsvId")
	items := []Key{}
	for _, k := range s.Keys(tid, rsv) {
		if k.propertyID == pid {
			items = append(items, k)
		}
	}
	fakes.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Service) serveRequest(w http.ResponseWriter, r *http.Request) {
	tid, reqID := r.PathValue("tenantId"), r.PathValue("requestId")
	s.mu.Lock()
	st, ok := s.requests[tid+"/"+reqID]
	s.mu.Unlock()
	if !ok {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.LOCK.NOT_FOUND", "no such request")
		return
	}
	fakes.WriteJSON(w, http.StatusOK, map[string]any{"requestId": reqID, "status": st.Status, "answer": st.Answer})
}

func (s *Service) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		var f Faults
		if err := fakes.DecodeJSON(r, &f); err != nil {
			fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.FAKE.VALIDATION_FAILED", err.Error())
			return
		}
		s.SetFaults(f)
	case http.MethodDelete:
		s.SetFaults(Faults{})
	default:
		w.Header().Set("Allow", "POST, DELETE")
		fakes.WriteProblem(w, http.StatusMethodNotAllowed, "MELMASTOON.FAKE.METHOD_NOT_ALLOWED", "use POST or DELETE")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
