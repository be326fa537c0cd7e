package session

import "github.com/melmastoon/bff-backoffice/shared/auth"

func (m *Manager) keySession(id string) string { return m.rdb.Key("sess", id) }
func (m *Manager) keyIndex(p auth.Principal) string {
	return m.rdb.Key("sessidx", p.TenantID, p.OperatorID, p.DeviceID)
}
func (m *Manager) keyOperator(tenantID, operatorID string) string {
	return m.rdb.Key("sessop", tenantID, operatorID)
}
func (m *Manager) keyCutoff(tenantID, operatorID, deviceID string) string {
	if deviceID == "" {
		return m.rdb.Key("cutoff", tenantID, operatorID)
	}
	return m.rdb.Key("cutoff", tenantID, operatorID, deviceID)
}
