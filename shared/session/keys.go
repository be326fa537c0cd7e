package session

import "github.com/melmastoon/bff-backoffice/shared/auth"

// The session's keys; shared/rediskeys documents them.

func (m *Manager) keySession(id string) string { return m.rdb.KeyNames().Session(id) }
func (m *Manager) keyIndex(p auth.Principal) string {
	return m.rdb.KeyNames().SessionIndex(p.TenantID, p.OperatorID, p.DeviceID)
}
func (m *Manager) keyOperator(tenantID, operatorID string) string {
	return m.rdb.KeyNames().OperatorSessions(tenantID, operatorID)
}
func (m *Manager) keyCutoff(tenantID, operatorID, deviceID string) string {
	return m.rdb.KeyNames().Cutoff(tenantID, operatorID, deviceID)
}
func (m *Manager) keyExpiry() string        { return m.rdb.KeyNames().SessionExpiry() }
func (m *Manager) keyExpiryClaimed() string { return m.rdb.KeyNames().SessionExpiryClaimed() }
func (m *Manager) keyRateDevice(p auth.Principal) string {
	return m.rdb.KeyNames().RateDevice(p.TenantID, p.DeviceID)
}
func (m *Manager) keyRateTenant(tenantID string) string { return m.rdb.KeyNames().RateTenant(tenantID) }
func (m *Manager) keyRateLimits(tenantID string) string { return m.rdb.KeyNames().RateLimits(tenantID) }
