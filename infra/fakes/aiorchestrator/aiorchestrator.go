// Package aiorchestrator is a fake of ai-orchestrator-service's suggestion
// inbox (docs/UPSTREAMS.md, docs/DOMAIN.md), under
// /v1/tenants/{tenantId}/properties/{propertyId}:
//
//	GET  P/suggestions?status=open|all → {items:[Suggestion]}
//	GET  P/suggestions/summary         → {open, actionRequired}
//	POST P/suggestions/{id}/decisions  {decisionId, outcome, …} → 201;
//	     the same decisionId again → 200; another one → 409 DECISION_CONFLICT;
//	     a suggestion the service does not know (for that tenant and
//	     property) → 404 SUGGESTION_NOT_FOUND; one past its expiresAt → 410
//	     SUGGESTION_EXPIRED
//
// Some suggestions have no provenance (the BFF must not show them) and one
// always expires within minutes; summary.open is the length of the open
// list. The demo's suggestion ids move with its clock, so the service
// knows every suggestion it has listed (and those of the current list),
// with their expiry, as the real one knows every suggestion it emitted;
// Know adds one a test announced by event only.
package aiorchestrator

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
)

// Name is the service's name in errors and stats.
const Name = "ai-orchestrator-service"

// Decision is what the service received for a suggestion.
type Decision struct {
	DecisionID      string          `json:"decisionId"`
	Outcome         string          `json:"outcome"`
	ModifiedDelta   json.RawMessage `json:"modifiedDelta,omitempty"`
	Notes           string          `json:"notes,omitempty"`
	DecidedBy       string          `json:"decidedBy"`
	DecidedAt       string          `json:"decidedAt"`
	DecidedDeviceID string          `json:"decidedDeviceId"`
}

// Service is the fake.
type Service struct {
	*scoped.Service

	mu        sync.Mutex
	decisions map[string]Decision  // tenant/property/suggestion → the first decision
	known     map[string]time.Time // tenant/property/suggestion → its expiresAt
	received  int                  // POSTs that carried a valid decision
}

var opaqueID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{decisions: map[string]Decision{}, known: map[string]time.Time{}}
	s.Service = scoped.New(Name, "AI", ops, []scoped.Route{
		{Path: "/suggestions", Handle: func(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
			if all, ok := s.Status(w, r); ok {
				doc := sn.Suggestions(all)
				s.learn(sn, doc)
				fakes.WriteJSON(w, http.StatusOK, doc)
			}
		}},
		{Path: "/suggestions/summary", Handle: func(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
			fakes.WriteJSON(w, http.StatusOK, sn.SuggestionSummary())
		}},
		{Method: http.MethodPost, Path: "/suggestions/{suggestionId}/decisions", Handle: s.decide},
	}, opts...)
	return s
}

func (s *Service) decide(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) {
	id := r.PathValue("suggestionId")
	if !opaqueID.MatchString(id) {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "suggestionId: malformed")
		return
	}
	var d Decision
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || d.DecisionID == "" || d.DecidedBy == "" {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "body must be a decision with decisionId and decidedBy")
		return
	}
	switch d.Outcome {
	case "accepted", "rejected", "modified":
	default:
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "outcome: unknown")
		return
	}
	key := sn.Tenant.ID + "/" + sn.Property.ID + "/" + id
	s.mu.Lock()
	_, listed := s.known[key]
	s.mu.Unlock()
	if !listed {
		s.learn(sn, sn.Suggestions(true))
	}
	now := s.Ops().Now()
	s.mu.Lock()
	s.received++
	prev, seen := s.decisions[key]
	expiresAt, known := s.known[key]
	expired := !expiresAt.After(now)
	if !seen && known && !expired {
		s.decisions[key] = d
	}
	s.mu.Unlock()
	switch {
	case !known:
		s.Problem(w, http.StatusNotFound, "SUGGESTION_NOT_FOUND", "no such suggestion for this property")
	case seen && prev.DecisionID == d.DecisionID:
		fakes.WriteJSON(w, http.StatusOK, map[string]string{"decisionId": d.DecisionID})
	case seen:
		s.Problem(w, http.StatusConflict, "DECISION_CONFLICT", "another decision is recorded for this suggestion")
	case expired:
		s.Problem(w, http.StatusGone, "SUGGESTION_EXPIRED", "the suggestion expired")
	case !seen:
		fakes.WriteJSON(w, http.StatusCreated, map[string]string{"decisionId": d.DecisionID})
	}
}

// learn remembers the suggestions of doc as known, with their expiry.
func (s *Service) learn(sn *demo.Snapshot, doc demo.SuggestionsDoc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range doc.Items {
		s.known[sn.Tenant.ID+"/"+sn.Property.ID+"/"+it.SuggestionID] = it.ExpiresAt.Time
	}
}

// Know makes a suggestion known to the service, as when it emitted the
// suggestion's created event: decisions on it are then taken until
// expiresAt.
func (s *Service) Know(tenantID, propertyID, suggestionID string, expiresAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known[tenantID+"/"+propertyID+"/"+suggestionID] = expiresAt
}

// Decision returns the decision recorded for a suggestion of a property.
func (s *Service) Decision(tenantID, propertyID, suggestionID string) (Decision, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.decisions[tenantID+"/"+propertyID+"/"+suggestionID]
	return d, ok
}

// Received counts the well-formed decision POSTs, repeats included.
func (s *Service) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}
