// Package folio is a fake of folio-service, the owner of guest folios:
//
//	GET  /v1/tenants/{t}/folios/{folId} → {folioId, propertyId, reservationId, currency}
//	     (any folio of a stay on the property's business day)
//	POST /v1/tenants/{t}/properties/{p}/folios/{folId}/adjustments  Idempotency-Key
//	     {amountMinor, currency, reason} → 201 {postingId, folioId, kind, amountMinor, currency}
//	POST /v1/tenants/{t}/properties/{p}/folios/{folId}/refunds      Idempotency-Key
//	     {amountMinor, currency, reason, paymentId} → 201 {postingId, …}
//	     → 422 MELMASTOON.FOLIO.CURRENCY_MISMATCH, MELMASTOON.FOLIO.VALIDATION_FAILED
//	     → 404 MELMASTOON.FOLIO.NOT_FOUND (the folio is not the property's)
//
// Amounts are integer minor units. A repeated Idempotency-Key gets the
// first answer and posts nothing again.
package folio

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Name is the service's name in errors and stats.
const Name = "folio-service"

const maxRequests = 100_000 // bounds the fake's memory under a runaway test

// Folio is GET /v1/tenants/{t}/folios/{folId}.
type Folio struct {
	FolioID       string `json:"folioId"`
	PropertyID    string `json:"propertyId"`
	ReservationID string `json:"reservationId"`
	Currency      string `json:"currency"`
}

type postingBody struct {
	AmountMinor *int64 `json:"amountMinor"`
	Currency    string `json:"currency"`
	Reason      string `json:"reason"`
	PaymentID   string `json:"paymentId,omitempty"`
}

// Service is the fake. Safe for concurrent use.
type Service struct {
	ops  *demo.Ops
	fake *fakes.Fake

	mu       sync.Mutex
	requests map[string]*fakes.Stored // by tenant + "/" + Idempotency-Key
	posted   map[string]int           // performed postings by kind
}

// New serves the folios of ops's stays.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{ops: ops, requests: map[string]*fakes.Stored{}, posted: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/tenants/{tenantId}/folios/{folId}", s.serveFolio)
	mux.HandleFunc("POST /v1/tenants/{tenantId}/properties/{propertyId}/folios/{folId}/{kind}", s.servePosting)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.FOLIO.NOT_FOUND", "no route for "+r.Method+" "+r.URL.Path)
	})
	s.fake = fakes.New(Name, mux, opts...)
	return s
}

// Handler is the fake's HTTP handler (with stats and faults).
func (s *Service) Handler() http.Handler { return s.fake }

// Fake is the wrapper, for stats and faults from Go.
func (s *Service) Fake() *fakes.Fake { return s.fake }

// Posted is how many postings of kind ("adjustments", "refunds") were
// performed (replays not counted).
func (s *Service) Posted(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posted[kind]
}

// Find looks a folio up across the tenant's properties.
func (s *Service) Find(tenantID, folioID string) (Folio, bool) {
	t, ok := s.ops.Dataset().Tenant(tenantID)
	if !ok {
		return Folio{}, false
	}
	for _, p := range t.Properties {
		sn, err := s.ops.Snapshot(tenantID, p.ID)
		if err != nil {
			continue
		}
		for _, doc := range []demo.StaysDoc{sn.InHouse(), sn.Arrivals(sn.Today), sn.Departures(sn.Today)} {
			for _, st := range doc.Items {
				if st.FolioID == folioID {
					return Folio{FolioID: folioID, PropertyID: p.ID, ReservationID: st.ReservationID, Currency: st.BalanceDue.Currency}, true
				}
			}
		}
	}
	return Folio{}, false
}

func (s *Service) serveFolio(w http.ResponseWriter, r *http.Request) {
	if ids.Check(ids.Tenant, r.PathValue("tenantId")) != nil || ids.Check(ids.Folio, r.PathValue("folId")) != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.FOLIO.VALIDATION_FAILED", "malformed id")
		return
	}
	f, ok := s.Find(r.PathValue("tenantId"), r.PathValue("folId"))
	if !ok {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.FOLIO.NOT_FOUND", "no such folio")
		return
	}
	fakes.WriteJSON(w, http.StatusOK, f)
}

func (s *Service) servePosting(w http.ResponseWriter, r *http.Request) {
	tid, pid, fol, kind := r.PathValue("tenantId"), r.PathValue("propertyId"), r.PathValue("folId"), r.PathValue("kind")
	if ids.Check(ids.Tenant, tid) != nil || ids.Check(ids.Property, pid) != nil || ids.Check(ids.Folio, fol) != nil ||
		(kind != "adjustments" && kind != "refunds") {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.FOLIO.VALIDATION_FAILED", "malformed path")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > 128 {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.FOLIO.VALIDATION_FAILED", "Idempotency-Key is required")
		return
	}
	var body postingBody
	if err := fakes.DecodeJSON(r, &body); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.FOLIO.VALIDATION_FAILED", err.Error())
		return
	}
	fp, _ := json.Marshal([]any{pid, fol, kind, body})
	f, found := s.Find(tid, fol)

	s.mu.Lock()
	defer s.mu.Unlock()
	st, reused, full := fakes.Recall(s.requests, tid+"/"+key, string(fp), maxRequests)
	switch {
	case reused:
		fakes.WriteProblem(w, http.StatusUnprocessableEntity, "MELMASTOON.FOLIO.IDEMPOTENCY_KEY_REUSED", "key reused for another posting")
		return
	case full:
		fakes.WriteProblem(w, http.StatusServiceUnavailable, "MELMASTOON.FOLIO.CAPACITY", "too many postings")
		return
	case st == nil:
		st = &fakes.Stored{Fingerprint: string(fp)}
		switch {
		case !found || f.PropertyID != pid:
			st.Status, st.Answer = fakes.Problem(http.StatusNotFound, "MELMASTOON.FOLIO.NOT_FOUND", "no such folio at the property")
		case body.AmountMinor == nil || body.Reason == "" || len(body.Reason) > 500 ||
			(kind == "refunds" && (*body.AmountMinor <= 0 || body.PaymentID == "")) || (kind == "adjustments" && *body.AmountMinor == 0):
			st.Status, st.Answer = fakes.Problem(http.StatusUnprocessableEntity, "MELMASTOON.FOLIO.VALIDATION_FAILED", "amount, reason or payment is not valid")
		case body.Currency != f.Currency:
			st.Status, st.Answer = fakes.Problem(http.StatusUnprocessableEntity, "MELMASTOON.FOLIO.CURRENCY_MISMATCH", "the folio is kept in "+f.Currency)
		default:
			s.posted[kind]++
			st.Status = http.StatusCreated
			st.Answer, _ = json.Marshal(map[string]any{
				"postingId": "pst_" + ids.New(ids.Event)[4:], "folioId": fol, "kind": kind,
				"amountMinor": *body.AmountMinor, "currency": body.Currency,
			})
		}
		s.requests[tid+"/"+key] = st
	}
	st.Write(w)
}
