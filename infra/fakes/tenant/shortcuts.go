package tenant

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Operator keyboard-shortcut overrides, versioned like preferences
// (docs/UPSTREAMS.md). The operator's global overrides and, per property,
// overrides that apply on that property only are separate documents, each
// with its own version:
//
//	GET /v1/tenants/{tenantId}/operators/{operatorId}/shortcuts
//	GET /v1/tenants/{tenantId}/operators/{operatorId}/properties/{propertyId}/shortcuts
//	    → {"id":"ksm_…","tenantId","operatorId","propertyId"?,"version","updatedAt","overrides":{command: combo}}
//	PUT either {"expectedVersion","overrides"} → the new document (version + 1);
//	    expectedVersion not the current one → 409 MELMASTOON.TENANT.VERSION_CONFLICT
//	    with "currentVersion"
//
// A document never written is {} at version 1. tenant-service stores
// overrides as given: what a combination may be, and which commands
// exist, is the BFF's rule. A property not of the tenant is 404.

// ShortcutsDoc is one overrides document on the wire.
type ShortcutsDoc struct {
	ID         string            `json:"id"`
	TenantID   string            `json:"tenantId"`
	OperatorID string            `json:"operatorId"`
	PropertyID string            `json:"propertyId,omitempty"`
	Version    int64             `json:"version"`
	UpdatedAt  string            `json:"updatedAt"`
	Overrides  map[string]string `json:"overrides"`
}

// maxOverrides bounds a document, as the real service's payload limit would.
const maxOverrides = 256

// shortcutsKey is (tenant, operator, property or "").
type shortcutsKey [3]string

// shortcutsDoc returns the stored document of k or the one never written.
// The caller holds s.mu; a never-written document gets its id here, so
// reads before the first write agree on it.
func (s *Service) shortcutsDoc(k shortcutsKey) ShortcutsDoc {
	if d, ok := s.shortcuts[k]; ok {
		return d
	}
	d := ShortcutsDoc{ID: ids.New(ids.ShortcutMap), TenantID: k[0], OperatorID: k[1], PropertyID: k[2], Version: 1,
		UpdatedAt: "2026-01-01T00:00:00.000Z", Overrides: map[string]string{}}
	s.shortcuts[k] = d
	return d
}

func (s *Service) serveShortcuts(w http.ResponseWriter, r *http.Request) {
	tid, oid, pid := r.PathValue("tenantId"), r.PathValue("operatorId"), r.PathValue("propertyId")
	if !checkID(w, "tenantId", ids.Tenant, tid) || !checkID(w, "operatorId", ids.Operator, oid) {
		return
	}
	if pid != "" {
		if !checkID(w, "propertyId", ids.Property, pid) {
			return
		}
		s.mu.RLock()
		t, ok := s.ds.Tenant(tid)
		if ok {
			_, ok = t.Property(pid)
		}
		s.mu.RUnlock()
		if !ok {
			fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.TENANT.PROPERTY_NOT_FOUND", "property "+pid+" not found in tenant "+tid)
			return
		}
	}
	k := shortcutsKey{tid, oid, pid}
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		doc := s.shortcutsDoc(k)
		s.mu.Unlock()
		fakes.WriteJSON(w, http.StatusOK, doc)
	case http.MethodPut:
		var body struct {
			ExpectedVersion int64             `json:"expectedVersion"`
			Overrides       map[string]string `json:"overrides"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.Overrides == nil || len(body.Overrides) > maxOverrides {
			fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.TENANT.VALIDATION_FAILED", fmt.Sprintf("body: {expectedVersion, overrides: {command: combo}} with at most %d overrides", maxOverrides))
			return
		}
		// One lock around compare and write: of concurrent writers with
		// the same expectedVersion exactly one wins.
		s.mu.Lock()
		doc := s.shortcutsDoc(k)
		if body.ExpectedVersion != doc.Version {
			s.mu.Unlock()
			fakes.WriteJSON(w, http.StatusConflict, map[string]any{
				"code": "MELMASTOON.TENANT.VERSION_CONFLICT", "status": 409,
				"detail": fmt.Sprintf("version %d is not the current %d", body.ExpectedVersion, doc.Version), "currentVersion": doc.Version,
			})
			return
		}
		doc.Version++
		doc.UpdatedAt = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		doc.Overrides = body.Overrides
		s.shortcuts[k] = doc
		s.mu.Unlock()
		fakes.WriteJSON(w, http.StatusOK, doc)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		fakes.WriteProblem(w, http.StatusMethodNotAllowed, "MELMASTOON.TENANT.METHOD_NOT_ALLOWED", "use GET or PUT")
	}
}

// Shortcuts returns the stored overrides document of an operator
// (propertyID "" for the global one) (tests).
func (s *Service) Shortcuts(tenantID, operatorID, propertyID string) ShortcutsDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shortcutsDoc(shortcutsKey{tenantID, operatorID, propertyID})
}
