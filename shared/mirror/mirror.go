// Package mirror is the BFF's Redis mirror of a versioned document another
// service owns (an operator's preferences, their shortcut overrides): filled
// by reads (read-through) and by the BFF's own writes (write-through), and
// written back with the version the client's If-Match names.
//
// The mirror only ever moves to a higher version (compare-and-set in one
// Lua script), so a read-through that fetched version 4 and lands after a
// write-through stored version 5 changes nothing. The owner's answer is the
// truth: a Redis failure is logged and costs only speed.
package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// storeScript replaces the mirror unless it holds a version at least as
// high, and returns the mirror's JSON after.
var storeScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if not cur or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGET', KEYS[1], 'd')`)

// Store mirrors d, at version, under key unless a newer version is
// mirrored there, and returns the mirror's newest: what a reader may see.
// A newest that does not decode, or that valid (when not nil) refuses, is
// not answered: d is. what names the document in the log.
func Store[T any](ctx context.Context, rdb *redisx.Client, key, what string, version int64, d T, ttl time.Duration, valid func(T) bool) T {
	b, err := json.Marshal(d)
	if err != nil {
		return d
	}
	v, err := storeScript.Run(ctx, rdb, []string{key}, version, b, ttl.Milliseconds()).Text()
	if err != nil {
		logging.From(ctx).WarnContext(ctx, "mirror "+what, "err", err)
		return d
	}
	var newest T
	if json.Unmarshal([]byte(v), &newest) != nil || (valid != nil && !valid(newest)) {
		return d
	}
	return newest
}

// Load reads the document mirrored under key; false when there is none, or
// it does not decode or valid refuses it (a key reused by another
// operator or property must never answer).
func Load[T any](ctx context.Context, rdb *redisx.Client, key, what string, valid func(T) bool) (T, bool) {
	var d T
	v, err := rdb.HGet(ctx, key, "d").Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			logging.From(ctx).WarnContext(ctx, "read "+what+" mirror", "err", err)
		}
		return d, false
	}
	if json.Unmarshal([]byte(v), &d) != nil || !valid(d) {
		var zero T
		return zero, false
	}
	return d, true
}

// ETag is the entity tag of a document's version: the version, quoted.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// IfMatch is the version a write's If-Match header names: none is 428
// PRECONDITION_REQUIRED with need (what the route asks for); anything but
// one version in quotes (W/ allowed) is 400 VALIDATION_FAILED.
func IfMatch(header, need string) (int64, error) {
	if strings.TrimSpace(header) == "" {
		return 0, apperr.New(apperr.PreconditionRequired, "%s", need)
	}
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(header), "W/"))
	if len(v) >= 3 && len(v) <= 22 && v[0] == '"' && v[len(v)-1] == '"' {
		if n, err := strconv.ParseInt(v[1:len(v)-1], 10, 64); err == nil && n >= 1 {
			return n, nil
		}
	}
	return 0, apperr.Validation(apperr.FieldError{Field: "If-Match", Message: `must be one version in quotes, such as "7"`})
}
