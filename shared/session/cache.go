package session

import (
	"slices"

	"github.com/melmastoon/bff-backoffice/shared/auth"
)

// decode is the package's decode with a per-instance memory of the last
// bytes seen for each session: a desktop's requests find the same bytes
// until the next touch, and a JSON decode costs more than the round trip
// that fetched them. Each caller gets its own copy.
func (m *Manager) decode(id, v string) (*Session, error) {
	m.mu.Lock()
	r, ok := m.recent[id]
	m.mu.Unlock()
	if !ok || r.raw != v {
		s, err := decode(v)
		if err != nil {
			return nil, err
		}
		r = recentSession{raw: v, s: *s}
		m.mu.Lock()
		if m.recent == nil || len(m.recent) >= maxRecent {
			m.recent = make(map[string]recentSession)
		}
		m.recent[id] = r
		m.mu.Unlock()
	}
	cp := r.s
	cp.PropertyScope, cp.Roles = slices.Clone(cp.PropertyScope), slices.Clone(cp.Roles)
	return &cp, nil
}

type recentSession struct {
	raw string
	s   Session
}

// maxRecent bounds Manager.recent (sessions of an instance's desktops).
const maxRecent = 4096

// Known returns the session this instance last resolved for p's device
// (nil when none): a guess of what Resolve will return, for a caller that
// reads ahead (a Rider) and checks its guess against Resolve's answer.
func (m *Manager) Known(p auth.Principal) *Session {
	m.mu.Lock()
	id, ok := m.byDevice[deviceOf(p)]
	r, found := m.recent[id]
	m.mu.Unlock()
	if !ok || !found {
		return nil
	}
	cp := r.s
	cp.PropertyScope, cp.Roles = slices.Clone(cp.PropertyScope), slices.Clone(cp.Roles)
	return &cp
}

type device struct{ tenant, operator, device string }

func deviceOf(p auth.Principal) device { return device{p.TenantID, p.OperatorID, p.DeviceID} }

// know remembers that p's device resolved to session id.
func (m *Manager) know(p auth.Principal, id string) {
	d := deviceOf(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byDevice[d] == id {
		return
	}
	if m.byDevice == nil || len(m.byDevice) >= maxRecent {
		m.byDevice = make(map[device]string)
	}
	m.byDevice[d] = id
}
