// Package tenant is a fake of the part of tenant-service the BFF reads:
//
//	GET /v1/tenants/{tenantId}/operators/{operatorId}/access
//	    → {"tenantId","operatorId","roles":[...],"propertyScope":[...],"primaryPropertyId"?}
//	GET /v1/tenants/{tenantId}/properties
//	    → {"properties":[{"id","name","timezone"}]}
//	GET /v1/tenants/{tenantId}/config
//	    → {"tenantId","rateLimits":{"devicePerSecond","deviceBurst","tenantPerSecond"},"mfaThresholdMinor"}
//	GET, PUT /v1/tenants/{tenantId}/operators/{operatorId}/preferences (preferences.go)
//	GET, PUT /v1/tenants/{tenantId}/operators/{operatorId}[/properties/{propertyId}]/shortcuts (shortcuts.go)
//
// Unknown tenants and operators are 404 problem+json, malformed ids 400,
// like the real service. Data comes from the demo dataset; tests may
// override one operator's access document or one tenant's config, even
// with values the real service should never send, to exercise the
// client's validation (or to lift a tenant's rate limits for a load test).
package tenant

import (
	"net/http"
	"sync"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// AccessDoc is the access document on the wire.
type AccessDoc struct {
	TenantID          string   `json:"tenantId"`
	OperatorID        string   `json:"operatorId"`
	Roles             []string `json:"roles"`
	PropertyScope     []string `json:"propertyScope"`
	PrimaryPropertyID string   `json:"primaryPropertyId,omitempty"`
}

// PropertyDoc is one property on the wire.
type PropertyDoc struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// ConfigDoc is a tenant's config on the wire.
type ConfigDoc struct {
	TenantID          string            `json:"tenantId"`
	RateLimits        tenant.RateLimits `json:"rateLimits"`
	MFAThresholdMinor int64             `json:"mfaThresholdMinor"`
}

// Service is the fake. Safe for concurrent use.
type Service struct {
	fake *fakes.Fake

	mu        sync.RWMutex
	ds        *demo.Dataset
	overrides map[[2]string]AccessDoc
	configs   map[string]any
	prefs     map[[2]string]PreferencesDoc
	shortcuts map[shortcutsKey]ShortcutsDoc
}

// New serves ds.
func New(ds *demo.Dataset, opts ...fakes.Option) *Service {
	s := &Service{ds: ds, overrides: map[[2]string]AccessDoc{}, configs: map[string]any{}, prefs: map[[2]string]PreferencesDoc{}, shortcuts: map[shortcutsKey]ShortcutsDoc{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/tenants/{tenantId}/operators/{operatorId}/access", s.serveAccess)
	mux.HandleFunc("/v1/tenants/{tenantId}/properties", s.serveProperties)
	mux.HandleFunc("/v1/tenants/{tenantId}/config", s.serveConfig)
	mux.HandleFunc("/v1/tenants/{tenantId}/operators/{operatorId}/preferences", s.servePreferences)
	mux.HandleFunc("/v1/tenants/{tenantId}/operators/{operatorId}/shortcuts", s.serveShortcuts)
	mux.HandleFunc("/v1/tenants/{tenantId}/operators/{operatorId}/properties/{propertyId}/shortcuts", s.serveShortcuts)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.TENANT.NOT_FOUND", "no route for "+r.Method+" "+r.URL.Path)
	})
	s.fake = fakes.New("tenant-service", mux, opts...)
	return s
}

// Handler is the fake's HTTP handler (with stats and faults).
func (s *Service) Handler() http.Handler { return s.fake }

// Fake is the wrapper, for stats and faults from Go.
func (s *Service) Fake() *fakes.Fake { return s.fake }

// SetAccess makes the fake answer doc for (tenantID, operatorID), known or
// not, until ResetAccess. doc is sent as is.
func (s *Service) SetAccess(tenantID, operatorID string, doc AccessDoc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[[2]string{tenantID, operatorID}] = doc
}

// ResetAccess drops every SetAccess and SetConfig override.
func (s *Service) ResetAccess() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.overrides)
	clear(s.configs)
}

// SetConfig makes the fake answer doc (encoded as JSON, sent as is) for
// tenantID's config, known tenant or not, until ResetAccess.
func (s *Service) SetConfig(tenantID string, doc any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configs[tenantID] = doc
}

func (s *Service) serveConfig(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	tid := r.PathValue("tenantId")
	if !checkID(w, "tenantId", ids.Tenant, tid) {
		return
	}
	s.mu.RLock()
	doc, overridden := s.configs[tid]
	t, ok := s.ds.Tenant(tid)
	if !overridden && ok {
		c := t.Config()
		doc = ConfigDoc{TenantID: tid, RateLimits: c.RateLimits, MFAThresholdMinor: c.MFAThresholdMinor}
	}
	s.mu.RUnlock()
	if !overridden && !ok {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.TENANT.TENANT_NOT_FOUND", "tenant "+tid+" not found")
		return
	}
	fakes.WriteJSON(w, http.StatusOK, doc)
}

func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	fakes.WriteProblem(w, http.StatusMethodNotAllowed, "MELMASTOON.TENANT.METHOD_NOT_ALLOWED", "use GET")
	return false
}

func (s *Service) serveAccess(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	tid, oid := r.PathValue("tenantId"), r.PathValue("operatorId")
	if !checkID(w, "tenantId", ids.Tenant, tid) || !checkID(w, "operatorId", ids.Operator, oid) {
		return
	}
	s.mu.RLock()
	doc, overridden := s.overrides[[2]string{tid, oid}]
	var (
		t  *demo.Tenant
		op *demo.Operator
	)
	if !overridden {
		t, _ = s.ds.Tenant(tid)
		if t != nil {
			op, _ = t.Operator(oid)
		}
		if op != nil {
			doc = AccessDoc{
				TenantID: tid, OperatorID: oid,
				Roles:             append([]string{}, op.Roles...),
				PropertyScope:     append([]string{}, op.PropertyScope...),
				PrimaryPropertyID: op.PrimaryPropertyID,
			}
		}
	}
	s.mu.RUnlock()
	switch {
	case overridden:
	case t == nil:
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.TENANT.TENANT_NOT_FOUND", "tenant "+tid+" not found")
		return
	case op == nil:
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.TENANT.OPERATOR_NOT_FOUND", "operator "+oid+" not found in tenant "+tid)
		return
	}
	fakes.WriteJSON(w, http.StatusOK, doc)
}

func (s *Service) serveProperties(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	tid := r.PathValue("tenantId")
	if !checkID(w, "tenantId", ids.Tenant, tid) {
		return
	}
	s.mu.RLock()
	t, ok := s.ds.Tenant(tid)
	props := []PropertyDoc{}
	if ok {
		for _, p := range t.Properties {
			props = append(props, PropertyDoc{ID: p.ID, Name: p.Name, Timezone: p.Timezone})
		}
	}
	s.mu.RUnlock()
	if !ok {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.TENANT.TENANT_NOT_FOUND", "tenant "+tid+" not found")
		return
	}
	fakes.WriteJSON(w, http.StatusOK, map[string]any{"properties": props})
}

func checkID(w http.ResponseWriter, field string, p ids.Prefix, v string) bool {
	if err := ids.Check(p, v); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.TENANT.VALIDATION_FAILED", field+": "+err.Error())
		return false
	}
	return true
}
