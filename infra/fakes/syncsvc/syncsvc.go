// Package syncsvc is a fake of sync-service (docs/UPSTREAMS.md):
//
//	GET /v1/tenants/{tenantId}/properties/{propertyId}/devices/status
//	    → {devices:[{deviceId, lastSeenAt, pendingPush, lagSeconds}], summary:{online, lagging, offline}}
//	POST …/devices/{deviceId}/cursor
//	    → {pullCursor, pushAck, cursorVersion, serverTimestamp}: the device's cursor as the
//	      service holds it (the authority)
//	POST …/devices/{deviceId}/handshake {pullCursor, pushAck, cursorVersion}
//	    → the device's new cursor, cursorVersion one past the higher of the held and the sent
//	      one; a cursorVersion below the held one is 409 STALE_CURSOR
//
// The status devices are the demo operators' (at their home property) and
// two shared terminals; one is always lagging and one offline. Cursors are
// kept per (tenant, device) in memory, starting at version 1.
package syncsvc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/fakes/scoped"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Name is the service's name in errors and stats.
const Name = "sync-service"

// Cursor is a device's sync cursor.
type Cursor struct {
	PullCursor      string `json:"pullCursor"`
	PushAck         string `json:"pushAck"`
	CursorVersion   int64  `json:"cursorVersion"`
	ServerTimestamp string `json:"serverTimestamp"`
}

// Service is the fake.
type Service struct {
	*scoped.Service
	mu      sync.Mutex
	cursors map[string]int64 // tenant|device → version
}

// New serves ops.
func New(ops *demo.Ops, opts ...fakes.Option) *Service {
	s := &Service{cursors: map[string]int64{}}
	s.Service = scoped.New(Name, "SYNC", ops, []scoped.Route{
		{Path: "/devices/status", Handle: func(w http.ResponseWriter, _ *http.Request, sn *demo.Snapshot) {
			fakes.WriteJSON(w, http.StatusOK, sn.Devices())
		}},
		{Method: http.MethodPost, Path: "/devices/{deviceId}/cursor", Handle: s.cursor},
		{Method: http.MethodPost, Path: "/devices/{deviceId}/handshake", Handle: s.handshake},
	}, opts...)
	return s
}

// SetVersion sets a device's cursor version (tests).
func (s *Service) SetVersion(tenantID, deviceID string, v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors[tenantID+"|"+deviceID] = v
}

func cursorOf(v int64) Cursor {
	return Cursor{
		PullCursor: fmt.Sprintf("pull-%08d", v), PushAck: fmt.Sprintf("ack-%08d", v), CursorVersion: v,
		ServerTimestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
	}
}

func (s *Service) device(w http.ResponseWriter, r *http.Request) (string, bool) {
	dev := r.PathValue("deviceId")
	if err := ids.Check(ids.Device, dev); err != nil {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "deviceId: "+err.Error())
		return "", false
	}
	return r.PathValue("tenantId") + "|" + dev, true
}

func (s *Service) cursor(w http.ResponseWriter, r *http.Request, _ *demo.Snapshot) {
	key, ok := s.device(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	v := s.cursors[key]
	if v == 0 {
		v = 1
		s.cursors[key] = v
	}
	s.mu.Unlock()
	fakes.WriteJSON(w, http.StatusOK, cursorOf(v))
}

func (s *Service) handshake(w http.ResponseWriter, r *http.Request, _ *demo.Snapshot) {
	key, ok := s.device(w, r)
	if !ok {
		return
	}
	var req struct {
		PullCursor    string `json:"pullCursor"`
		PushAck       string `json:"pushAck"`
		CursorVersion int64  `json:"cursorVersion"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.CursorVersion < 0 {
		s.Problem(w, http.StatusBadRequest, "VALIDATION_FAILED", "body: {pullCursor, pushAck, cursorVersion ≥ 0}")
		return
	}
	s.mu.Lock()
	held := max(s.cursors[key], 1)
	if req.CursorVersion < held {
		s.mu.Unlock()
		s.Problem(w, http.StatusConflict, "STALE_CURSOR", fmt.Sprintf("cursorVersion %d is behind %d", req.CursorVersion, held))
		return
	}
	v := req.CursorVersion + 1
	s.cursors[key] = v
	s.mu.Unlock()
	fakes.WriteJSON(w, http.StatusOK, cursorOf(v))
}
