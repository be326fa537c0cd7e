// Package scoped is what the fakes of property-scoped upstream services
// share (reservation, housekeeping, maintenance, revenue, ai-orchestrator,
// notification, sync): the routes under
// /v1/tenants/{tenantId}/properties/{propertyId}, the checks every such
// service makes (400 for malformed ids and parameters, 404 for unknown
// tenants, properties and routes, 405 for anything but GET), a log of the
// requests received for tests, and the one demo.Ops they all draw from so
// their answers agree.
package scoped

import (
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Prefix is the path every route is under.
const Prefix = "/v1/tenants/{tenantId}/properties/{propertyId}"

// Handler answers one route for the property's snapshot.
type Handler func(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot)

// Route is a path under Prefix ("/today") and its handler. Method is GET
// (and HEAD) unless set.
type Route struct {
	Method string
	Path   string
	Handle Handler
}

// Request is what the service received, for tests: headers that must be
// propagated and the query.
type Request struct {
	Method      string
	Path        string
	Query       string
	RequestID   string
	Traceparent string
	At          time.Time
}

// maxLog bounds the request log; tests look at the last few.
const maxLog = 1024

// Service is one fake upstream service. Safe for concurrent use.
type Service struct {
	area string // of problem codes: MELMASTOON.<area>.<CODE>
	ops  *demo.Ops
	fake *fakes.Fake

	mux *http.ServeMux

	mu  sync.Mutex
	log []Request
}

// New builds the service name ("reservation-service") answering routes from
// ops; area names its problem codes ("RESERVATION").
func New(name, area string, ops *demo.Ops, routes []Route, opts ...fakes.Option) *Service {
	s := &Service{area: area, ops: ops}
	mux := http.NewServeMux()
	s.mux = mux
	for _, rt := range routes {
		mux.HandleFunc(Prefix+rt.Path, s.serve(rt.Method, rt.Handle))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		s.Problem(w, http.StatusNotFound, "NOT_FOUND", "no route for "+r.Method+" "+r.URL.Path)
	})
	s.fake = fakes.New(name, mux, opts...)
	return s
}

// Handler is the service's HTTP handler (with stats and faults).
func (s *Service) Handler() http.Handler { return s.fake }

// Fake is the wrapper, for stats and faults from Go.
func (s *Service) Fake() *fakes.Fake { return s.fake }

// HandleTenant adds a route that is not under a property (a resource found
// by id across the tenant's properties), recorded like every other.
func (s *Service) HandleTenant(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		h(w, r)
	})
}

// Ops is the generator the service answers from.
func (s *Service) Ops() *demo.Ops { return s.ops }

// Requests returns the requests that reached the service (past any
// injected fault), oldest first, at most the last 1024.
func (s *Service) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests empties the request log.
func (s *Service) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Service) record(r *http.Request) {
	req := Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		RequestID: r.Header.Get("X-Request-Id"), Traceparent: r.Header.Get("traceparent"),
		At: time.Now(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) >= maxLog {
		s.log = slices.Delete(s.log, 0, len(s.log)-maxLog+1)
	}
	s.log = append(s.log, req)
}

// Problem writes MELMASTOON.<area>.<code> as problem+json.
func (s *Service) Problem(w http.ResponseWriter, status int, code, detail string) {
	fakes.WriteProblem(w, status, "MELMASTOON."+s.area+"."+code, detail)
}

func (s *Service) serve(method string, h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		switch {
		case method == "" && r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			s.Problem(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use GET")
			return
		case method != "" && r.Method != method:
			w.Header().Set("Allow", method)
			s.Problem(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use "+method)
			return
		}
		tid, pid := r.PathValue("tenantId"), r.PathValue("propertyId")
		if err := ids.Check(ids.Tenant, tid); err != nil {
			s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "tenantId: "+err.Error())
			return
		}
		if err := ids.Check(ids.Property, pid); err != nil {
			s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "propertyId: "+err.Error())
			return
		}
		sn, err := s.ops.Snapshot(tid, pid)
		switch {
		case errors.Is(err, demo.ErrTenantNotFound):
			s.Problem(w, http.StatusNotFound, "TENANT_NOT_FOUND", "tenant "+tid+" not found")
			return
		case err != nil:
			s.Problem(w, http.StatusNotFound, "PROPERTY_NOT_FOUND", "property "+pid+" not found in tenant "+tid)
			return
		}
		h(w, r, sn)
	}
}

// Date reads the date query parameter; it defaults to the property's
// business date. A malformed one is answered 400 and ok is false.
func (s *Service) Date(w http.ResponseWriter, r *http.Request, sn *demo.Snapshot) (d demo.Date, ok bool) {
	v := r.URL.Query().Get("date")
	if v == "" {
		return sn.Today, true
	}
	d, err := demo.ParseDate(v)
	if err != nil {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "date: "+err.Error())
		return 0, false
	}
	return d, true
}

// Status reads status=open|all (default open); all reports "all". Anything
// else is answered 400 and ok is false.
func (s *Service) Status(w http.ResponseWriter, r *http.Request) (all, ok bool) {
	switch v := r.URL.Query().Get("status"); v {
	case "", "open":
		return false, true
	case "all":
		return true, true
	default:
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", `status: must be "open" or "all"`)
		return false, false
	}
}
