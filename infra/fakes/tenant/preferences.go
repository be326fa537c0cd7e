package tenant

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Operator preferences, the owner of their version (docs/UPSTREAMS.md):
//
//	GET /v1/tenants/{tenantId}/operators/{operatorId}/preferences
//	    → {"tenantId","operatorId","version","updatedAt","layout","notifications","i18n","appearance"}
//	PUT the same {"expectedVersion", "layout","notifications","i18n","appearance"}
//	    → the new document (version + 1); expectedVersion not the current one
//	      → 409 MELMASTOON.TENANT.VERSION_CONFLICT with "currentVersion"
//
// An operator without stored preferences has the defaults at version 1.

// PreferencesDoc is an operator's preferences on the wire.
type PreferencesDoc struct {
	TenantID      string          `json:"tenantId"`
	OperatorID    string          `json:"operatorId"`
	Version       int64           `json:"version"`
	UpdatedAt     string          `json:"updatedAt"`
	Layout        json.RawMessage `json:"layout"`
	Notifications json.RawMessage `json:"notifications"`
	I18n          json.RawMessage `json:"i18n"`
	Appearance    json.RawMessage `json:"appearance"`
}

func defaultPreferences(tid, oid string) PreferencesDoc {
	return PreferencesDoc{
		TenantID: tid, OperatorID: oid, Version: 1, UpdatedAt: "2026-01-01T00:00:00.000Z",
		Layout:        json.RawMessage(`{"density":"comfortable","columnsByPage":{}}`),
		Notifications: json.RawMessage(`{"sound":true,"popup":true,"aiBadge":true}`),
		I18n:          json.RawMessage(`{"locale":"en-US","firstDayOfWeek":"mon"}`),
		Appearance:    json.RawMessage(`{"theme":"system"}`),
	}
}

func (s *Service) servePreferences(w http.ResponseWriter, r *http.Request) {
	tid, oid := r.PathValue("tenantId"), r.PathValue("operatorId")
	if !checkID(w, "tenantId", ids.Tenant, tid) || !checkID(w, "operatorId", ids.Operator, oid) {
		return
	}
	key := [2]string{tid, oid}
	switch r.Method {
	case http.MethodGet:
		s.mu.RLock()
		doc, ok := s.prefs[key]
		s.mu.RUnlock()
		if !ok {
			doc = defaultPreferences(tid, oid)
		}
		fakes.WriteJSON(w, http.StatusOK, doc)
	case http.MethodPut:
		var body struct {
			ExpectedVersion int64           `json:"expectedVersion"`
			Layout          json.RawMessage `json:"layout"`
			Notifications   json.RawMessage `json:"notifications"`
			I18n            json.RawMessage `json:"i18n"`
			Appearance      json.RawMessage `json:"appearance"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.Layout == nil ||
			body.Notifications == nil || body.I18n == nil || body.Appearance == nil {
			fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.TENANT.VALIDATION_FAILED", "body: {expectedVersion, layout, notifications, i18n, appearance}")
			return
		}
		// One lock around compare and write: of concurrent writers with
		// the same expectedVersion exactly one wins.
		s.mu.Lock()
		doc, ok := s.prefs[key]
		if !ok {
			doc = defaultPreferences(tid, oid)
		}
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
		doc.Layout, doc.Notifications, doc.I18n, doc.Appearance = body.Layout, body.Notifications, body.I18n, body.Appearance
		s.prefs[key] = doc
		s.mu.Unlock()
		fakes.WriteJSON(w, http.StatusOK, doc)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		fakes.WriteProblem(w, http.StatusMethodNotAllowed, "MELMASTOON.TENANT.METHOD_NOT_ALLOWED", "use GET or PUT")
	}
}

// Preferences returns the stored copy of an operator's preferences (tests).
func (s *Service) Preferences(tenantID, operatorID string) PreferencesDoc {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if doc, ok := s.prefs[[2]string{tenantID, operatorID}]; ok {
		return doc
	}
	return defaultPreferences(tenantID, operatorID)
}
