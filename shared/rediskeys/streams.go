package rediskeys

// DeviceStreamConns is devstream-conns:<t>:<dev>: ZSET of the open
// GET /v1/events connections of one device (connection id → opened at,
// unix ms), across instances, so a fourth stream can close the oldest.
// TTL: the longest a stream lives, renewed by every connect.
func (k Keys) DeviceStreamConns(tenantID, deviceID string) string {
	return k.Join("devstream-conns", tenantID, deviceID)
}
