package session

import "slices"

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
