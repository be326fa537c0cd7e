// Package devicestream is the bounded per-device stream of live events
// (forceLogout, aiInboxChanged, alertInboxChanged, viewInvalidated) that
// GET /v1/events serves (shared/livestream). Each device has a Redis Stream,
// so a reconnect with Last-Event-ID resumes from the stream without a gap; a
// publish on a per-tenant channel wakes the instances holding that device's
// connection.
//
// Redis keys (all under the deployment's REDIS_KEY_PREFIX; shared/rediskeys
// builds them):
//
//	devstream:{tenant}:{device}          STREAM  fields type, data (JSON), prev;
//	                                             MAXLEN ~500, expires 8 days after the last append
//	devstream-notify:{tenant}            channel PUBLISH of the device id after every append
//	devstream-prop:{tenant}:{property}   ZSET    device id → last seen (unix ms), for AppendProperty
//	devstream-tenant:{tenant}            ZSET    device id → last seen (unix ms), for AppendTenant
//
// Every entry records in `prev` the id of the entry before it ("0-0" for the
// first entry of a stream). That chain is what lets a resume prove it has no
// gap: the first entry after the client's Last-Event-ID must name that id as
// its prev; when trimming (MAXLEN) or expiry broke the chain the client is
// told to resync instead of silently missing events.
//
// Property- and tenant-wide events are copied into the stream of every
// device seen (connected to GET /v1/events) with that property in its scope
// within RegistryWindow, so a device that was briefly offline still finds
// them on reconnect. A device away longer than that is told to resync.
package devicestream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// MaxLen bounds each device's stream; an older Last-Event-ID than what is
// kept gets a full refresh hint instead of a replay.
const MaxLen = 500

// StreamTTL is how long a device's stream outlives its last append: longer
// than a desktop is expected to stay offline (the idempotency window).
const StreamTTL = rediskeys.DeviceStreamTTL

// RegistryWindow is how long a device that stopped connecting still gets
// the property- and tenant-wide events of its scope.
const RegistryWindow = rediskeys.DeviceRegistryWindow

// Event types pushed to desktops.
const (
	TypeForceLogout       = "forceLogout"
	TypeAIInboxChanged    = "aiInboxChanged"
	TypeAlertInboxChanged = "alertInboxChanged"
	TypeViewInvalidated   = "viewInvalidated"
)

// Key is the stream of one device.
func Key(rdb *redisx.Client, tenantID, deviceID string) string {
	return rdb.KeyNames().DeviceStream(tenantID, deviceID)
}

// Channel is where appends are announced, per tenant.
func Channel(rdb *redisx.Client, tenantID string) string {
	return rdb.KeyNames().DeviceStreamChannel(tenantID)
}

// PropertyKey is the registry of the devices recently seen with a property
// in scope.
func PropertyKey(rdb *redisx.Client, tenantID, propertyID string) string {
	return rdb.KeyNames().DevicesOfProperty(tenantID, propertyID)
}

// TenantKey is the registry of the devices of a tenant recently seen.
func TenantKey(rdb *redisx.Client, tenantID string) string {
	return rdb.KeyNames().DevicesOfTenant(tenantID)
}

// appendScript appends one entry chained to the previous one, keeps the
// stream bounded and alive, and announces it, atomically: a reader woken by
// the PUBLISH always finds the entry.
//
// KEYS[1] stream; ARGV: maxlen, type, data, ttl ms, channel, device id.
var appendScript = redis.NewScript(`
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local prev = '0-0'
if #last > 0 then prev = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[2], 'data', ARGV[3], 'prev', prev)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return id
`)

func appendArgs(rdb *redisx.Client, tenantID, deviceID, typ string, data []byte) ([]string, []any) {
	return []string{Key(rdb, tenantID, deviceID)},
		[]any{MaxLen, typ, data, StreamTTL.Milliseconds(), Channel(rdb, tenantID), deviceID}
}

// Append adds an event to a device's stream and announces it; it returns
// the stream id, which is the SSE event id.
func Append(ctx context.Context, rdb *redisx.Client, tenantID, deviceID, typ string, data any) (_ string, err error) {
	defer derrors.Wrap(&err, "devicestream.Append(%s)", typ)
	b, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	keys, args := appendArgs(rdb, tenantID, deviceID, typ, b)
	return appendScript.Run(ctx, rdb, keys, args...).Text()
}

// AppendProperty appends an event to the stream of every device seen with
// propertyID in its session's scope within RegistryWindow. Calling it twice
// delivers the event twice: consumers send events that are harmless to
// repeat (a "something changed, refetch" hint).
func AppendProperty(ctx context.Context, rdb *redisx.Client, tenantID, propertyID, typ string, data any) (err error) {
	defer derrors.Wrap(&err, "devicestream.AppendProperty(%s, %s)", propertyID, typ)
	return appendRegistered(ctx, rdb, tenantID, PropertyKey(rdb, tenantID, propertyID), typ, data)
}

// AppendTenant appends an event to the stream of every device of the tenant
// seen within RegistryWindow, whatever its scope (tenant-wide changes).
func AppendTenant(ctx context.Context, rdb *redisx.Client, tenantID, typ string, data any) (err error) {
	defer derrors.Wrap(&err, "devicestream.AppendTenant(%s)", typ)
	return appendRegistered(ctx, rdb, tenantID, TenantKey(rdb, tenantID), typ, data)
}

func appendRegistered(ctx context.Context, rdb *redisx.Client, tenantID, registry, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	cutoff := time.Now().Add(-RegistryWindow).UnixMilli()
	pipe := rdb.Pipeline()
	pipe.ZRemRangeByScore(ctx, registry, "-inf", "("+strconv.FormatInt(cutoff, 10))
	members := pipe.ZRange(ctx, registry, 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	devices := members.Val()
	if len(devices) == 0 {
		return nil
	}
	// Loading once lets the pipeline use EVALSHA: a pipelined Run cannot
	// fall back to EVAL on NOSCRIPT.
	if err := appendScript.Load(ctx, rdb).Err(); err != nil {
		return fmt.Errorf("load script: %w", err)
	}
	pipe = rdb.Pipeline()
	for _, d := range devices {
		keys, args := appendArgs(rdb, tenantID, d, typ, b)
		appendScript.EvalSha(ctx, pipe, keys, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("append to %d devices: %w", len(devices), err)
	}
	return nil
}

// Register records that a device is connected with propertyIDs in scope,
// so property- and tenant-wide events reach its stream. It reports whether
// the device was already registered for all of them within RegistryWindow:
// when it was not, events may have been missed while it was away.
func Register(ctx context.Context, rdb *redisx.Client, tenantID, deviceID string, propertyIDs []string, now time.Time) (_ bool, err error) {
	defer derrors.Wrap(&err, "devicestream.Register")
	keys := []string{TenantKey(rdb, tenantID)}
	for _, p := range propertyIDs {
		keys = append(keys, PropertyKey(rdb, tenantID, p))
	}
	pipe := rdb.Pipeline()
	scores := make([]*redis.FloatCmd, len(keys))
	adds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		scores[i] = pipe.ZScore(ctx, k, deviceID)
		adds[i] = pipe.ZAdd(ctx, k, redis.Z{Score: float64(now.UnixMilli()), Member: deviceID})
		// A property nobody connects to any more leaves no key behind.
		pipe.PExpire(ctx, k, RegistryWindow)
	}
	// Exec reports redis.Nil for a device not registered yet; the
	// commands' own errors tell the rest.
	_, _ = pipe.Exec(ctx)
	cutoff := float64(now.Add(-RegistryWindow).UnixMilli())
	known := true
	for i := range keys {
		if err := adds[i].Err(); err != nil {
			return false, err
		}
		v, err := scores[i].Result()
		switch {
		case errors.Is(err, redis.Nil):
			known = false
		case err != nil:
			return false, err
		case v < cutoff:
			known = false
		}
	}
	return known, nil
}
