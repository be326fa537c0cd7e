// Package devicestream is the bounded per-device stream of live events
// (forceLogout, aiInboxChanged, …) that GET /v1/events serves. Each device
// has a Redis Stream, so a reconnect with Last-Event-ID resumes from the
// stream without a gap; a publish on a per-tenant channel wakes the
// instances holding that device's connection.
package devicestream

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// MaxLen bounds each device's stream; an older Last-Event-ID than what is
// kept gets a full refresh hint instead of a replay.
const MaxLen = 500

// Event types pushed to desktops.
const (
	TypeForceLogout       = "forceLogout"
	TypeAIInboxChanged    = "aiInboxChanged"
	TypeAlertInboxChanged = "alertInboxChanged"
	TypeViewInvalidated   = "viewInvalidated"
)

// Key is the stream of one device.
func Key(rdb *redisx.Client, tenantID, deviceID string) string {
	return rdb.Key("devstream", tenantID, deviceID)
}

// Channel is where appends are announced, per tenant.
func Channel(rdb *redisx.Client, tenantID string) string {
	return rdb.Key("devstream-notify", tenantID)
}

// Append adds an event to a device's stream and announces it; it returns
// the stream id, which is the SSE event id.
func Append(ctx context.Context, rdb *redisx.Client, tenantID, deviceID, typ string, data any) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("devicestream.Append: encode: %w", err)
	}
	key := Key(rdb, tenantID, deviceID)
	pipe := rdb.TxPipeline()
	add := pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: MaxLen, Approx: true, Values: []any{"type", typ, "data", b}})
	pipe.Publish(ctx, Channel(rdb, tenantID), deviceID)
	if _, err := pipe.Exec(ctx); err != nil {
		return "", fmt.Errorf("devicestream.Append %s: %w", typ, err)
	}
	return add.Val(), nil
}
