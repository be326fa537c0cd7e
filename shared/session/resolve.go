package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// AccessMaxAge bounds how long roles and scope read from tenant-service are
// trusted: a property or role taken away stops working within it.
const AccessMaxAge = 5 * time.Minute

// accessRefreshAfter is when a request re-reads roles and scope; between it
// and AccessMaxAge a tenant-service failure is tolerated (the stored access
// serves), so a blip does not refuse every session that happens to be due.
const accessRefreshAfter = 4 * time.Minute

// Resolve returns the open session of the token's (tenant, operator, device),
// opening one when there is none; opened reports that this call created it.
// headerID is the client's X-Session-Id ("" when absent). Roles and scope
// are re-read from tenant-service when the token is newer than the last
// read, or that read is older than accessRefreshAfter; otherwise the
// request costs one Redis round trip.
//
// Errors: SESSION_REVOKED for a token issued before a revocation,
// UNAUTHENTICATED for one issued before a sign-out, SESSION_DEVICE_MISMATCH
// when headerID names another operator's or device's session,
// NO_PROPERTY_SCOPE when tenant-service grants no property, VALIDATION_FAILED
// for a malformed headerID, UPSTREAM_UNAVAILABLE when Redis or tenant-service
// is down.
//
// riders go out in the same round trip as the resolve script (they read
// what the handler will want; a nil rider is skipped).
func (m *Manager) Resolve(ctx context.Context, p auth.Principal, headerID string, c Client, riders ...redisx.Rider) (_ *Session, _ bool, err error) {
	defer derrors.Wrap(&err, "session.Manager.Resolve")
	if headerID != "" {
		if err := ids.Check(ids.Session, headerID); err != nil {
			return nil, false, apperr.Validation(apperr.FieldError{Field: "X-Session-Id", Message: err.Error()})
		}
	}
	now := m.now()

	// One round trip: both cutoffs, the index, the session it points at
	// (slid with the index, the operator's set and its expiry when still
	// alive), the named session when it is another one, and a token from
	// the device's and the tenant's rate-limit buckets.
	def := DefaultLimits
	keys := []string{
		m.keyCutoff(p.TenantID, p.OperatorID, ""), m.keyCutoff(p.TenantID, p.OperatorID, p.DeviceID), m.keyIndex(p),
		m.keyExpiry(), m.keyOperator(p.TenantID, p.OperatorID),
		m.keyRateDevice(p), m.keyRateTenant(p.TenantID), m.keyRateLimits(p.TenantID),
	}
	args := []any{
		int64(TTL / time.Second), m.keySession(""), headerID, now.UnixMilli(), now.Add(TTL).UnixMilli(),
		int64(keep / time.Second), int64(cutoffTTL / time.Second),
		def.DevicePerSecond, def.DeviceBurst, def.TenantPerSecond,
	}
	res, err := m.runResolve(ctx, keys, args, riders)
	if err != nil || len(res) != 9 {
		return nil, false, apperr.Unavailable(fmt.Errorf("resolve script: %w (%d results)", err, len(res)), "session store")
	}
	// A dead token is told so even when it is over the limit: the client
	// must sign in again rather than retry, and the refusal is recorded.
	if err := checkCutoff(p, pairs(res[0])); err != nil {
		return nil, false, err
	}
	if err := checkCutoff(p, pairs(res[1])); err != nil {
		return nil, false, err
	}
	id, _ := res[2].(string)
	cur, _ := res[3].(string)
	named, _ := res[4].(string)
	alive, _ := res[5].(int64)
	if headerID != "" && headerID == id {
		named = cur
	}
	if named != "" {
		s, err := m.decode(headerID, named)
		if err != nil {
			return nil, false, err
		}
		if s.TenantID != p.TenantID || s.OperatorID != p.OperatorID || s.DeviceID != p.DeviceID {
			return nil, false, apperr.New(apperr.SessionDeviceMismatch, "X-Session-Id belongs to another device or operator")
		}
	}
	// Over the limit: refused before anything that costs more than this
	// round trip (a tenant-service read, a session write or open).
	limited, _ := res[6].(int64)
	wait, _ := res[7].(int64)
	if limited != 0 {
		return nil, false, rateLimited(limited, wait)
	}
	limitsAt, _ := res[8].(string)
	lr := limitsRead{tenantID: p.TenantID, due: m.limitsDue(limitsAt, now)}

	if id != "" && cur != "" && alive == 1 {
		s, err := m.decode(id, cur)
		if err != nil {
			return nil, false, err
		}
		if s.State == StateOpen {
			if err := m.refresh(ctx, s, p, c, now, lr); err != nil {
				return nil, false, err
			}
			if len(s.PropertyScope) == 0 {
				return nil, false, apperr.New(apperr.NoPropertyScope, "the operator has no property in scope")
			}
			s.TTLExpiresAt = jsontime.Of(now.Add(TTL))
			m.know(p, s.ID)
			return s, false, nil
		}
	}
	// No index, or it points at an ended, idle-expired or vanished session:
	// open anew (an expired one is the sweeper's to close, never revived).
	s, opened, err := m.open(ctx, p, c, now, lr)
	if err == nil {
		m.know(p, s.ID)
	}
	return s, opened, err
}

// runResolve runs the resolve script, in one pipeline with the riders when
// there are any. A script the server does not know yet (NOSCRIPT: a new or
// restarted Redis) is sent again in full on its own; the riders then read
// an error and their owners fall back to reading themselves.
func (m *Manager) runResolve(ctx context.Context, keys []string, args []any, riders []redisx.Rider) ([]any, error) {
	riders = slices.DeleteFunc(riders, func(r redisx.Rider) bool { return r == nil })
	if len(riders) > 0 {
		pipe := m.rdb.Pipeline()
		cmd := resolveScript.EvalSha(ctx, pipe, keys, args...)
		for _, r := range riders {
			r.Queue(ctx, pipe)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		if err := cmd.Err(); err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return cmd.Slice()
		}
	}
	return resolveScript.Run(ctx, m.rdb, keys, args...).Slice()
}

// rateLimited is the refusal of a request over its device's (by 1) or
// tenant's (2) limit; Retry-After is the wait for the next token, in whole
// seconds rounded up, at least 1.
func rateLimited(by, waitMs int64) error {
	retry := int((waitMs + 999) / 1000)
	if retry < 1 {
		retry = 1
	}
	e := apperr.New(apperr.RateLimited, "this device is making requests faster than its tenant allows; retry after Retry-After")
	if by == 2 {
		e = apperr.New(apperr.RateLimited, "this tenant's devices together are making requests faster than it allows; retry after Retry-After")
	}
	e.RetryAfter = retry
	return e
}

// pairs turns an HGETALL reply from a script into a map.
func pairs(v any) map[string]string {
	flat, _ := v.([]any)
	out := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		out[k] = val
	}
	return out
}

func checkCutoff(p auth.Principal, h map[string]string) error {
	if len(h) == 0 {
		return nil
	}
	at, err := strconv.ParseInt(h["at"], 10, 64)
	if err != nil {
		return nil
	}
	// Tokens carry whole seconds: a token issued in the same second as the
	// revocation is treated as issued before it.
	if p.IssuedAt.Unix() > at/1000 {
		return nil
	}
	if h["reason"] == ReasonSignedOut {
		return apperr.New(apperr.Unauthenticated, "the session was signed out; sign in again")
	}
	return apperr.New(apperr.SessionRevoked, "the session was revoked; sign in again")
}

// accessDue reports whether s's roles and scope must be read again for a
// request with token p at now.
func accessDue(s *Session, p auth.Principal, now time.Time) bool {
	return p.IssuedAt.Unix() > s.AccessTokenIssuedAt.Unix() || now.Sub(s.AccessCheckedAt.Time) >= accessRefreshAfter
}

// refresh brings s up to date when due: roles and scope from tenant-service
// (accessDue), and lastActivityAt with the client's current build at most
// every touchEvery. Nothing is due on most requests, which then cost no
// write and no call. A lost race with another writer only loses this
// request's write; the access it read still applies to this request.
func (m *Manager) refresh(ctx context.Context, s *Session, p auth.Principal, c Client, now time.Time, lr limitsRead) error {
	var acc *Access
	if accessDue(s, p, now) {
		a, err := m.readAccess(ctx, p, lr, now)
		switch {
		case err == nil:
			acc = &a
		case now.Sub(s.AccessCheckedAt.Time) >= AccessMaxAge:
			// Past the bound the stored access may grant what was taken
			// away: refuse rather than serve it.
			return err
		default:
			logging.From(ctx).WarnContext(ctx, "session access refresh failed; the stored access serves until it is due",
				"sessionId", s.ID, "checkedAt", s.AccessCheckedAt, "err", err)
		}
	}
	if acc == nil && now.Sub(s.LastActivityAt.Time) <= touchEvery {
		return nil
	}
	tokenIat := p.IssuedAt
	err := m.update(ctx, s.ID, func(cur *Session) error {
		if cur.State != StateOpen {
			return errStop
		}
		cur.LastActivityAt = jsontime.Of(now)
		if c.AppVersion != "" {
			cur.AppVersion = c.AppVersion
		}
		if c.AppPlatform != "" {
			cur.AppPlatform = c.AppPlatform
		}
		if c.NetworkProfile != "" {
			cur.NetworkProfile = c.NetworkProfile
		}
		if acc != nil {
			applyAccess(cur, *acc, tokenIat, now)
		}
		*s = *cur
		return nil
	})
	if err != nil && acc != nil {
		applyAccess(s, *acc, tokenIat, now)
	}
	return nil
}

// readAccess asks tenant-service for the operator's roles and scope; an
// operator it does not know has none. When the tenant's stored rate
// limits are due (lr), they are read alongside, so keeping them current
// costs no call on the requests that read nothing.
func (m *Manager) readAccess(ctx context.Context, p auth.Principal, lr limitsRead, now time.Time) (Access, error) {
	if lr.due {
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.storeLimits(ctx, lr.tenantID, now)
		}()
		defer func() { <-done }()
	}
	acc, err := m.access.OperatorAccess(ctx, p.TenantID, p.OperatorID)
	if errors.Is(err, ErrNoAccess) {
		return Access{}, nil
	}
	if err != nil {
		return Access{}, err
	}
	return acc, nil
}

// applyAccess replaces s's roles and scope with acc. The primary property
// the operator chose stays while it is in scope; otherwise tenant-service's
// primary, if in scope, takes its place.
func applyAccess(s *Session, acc Access, tokenIat, now time.Time) {
	s.Roles = slices.Clone(acc.Roles)
	s.PropertyScope = slices.Clone(acc.PropertyScope)
	if !slices.Contains(s.PropertyScope, s.PrimaryPropertyID) {
		s.PrimaryPropertyID = ""
		if slices.Contains(s.PropertyScope, acc.PrimaryPropertyID) {
			s.PrimaryPropertyID = acc.PrimaryPropertyID
		}
	}
	s.AccessCheckedAt = jsontime.Of(now)
	if tokenIat.After(s.AccessTokenIssuedAt.Time) {
		s.AccessTokenIssuedAt = jsontime.Of(tokenIat)
	}
}

// limitsRead says whether a request that reads its access from
// tenant-service should also store its tenant's rate limits.
type limitsRead struct {
	tenantID string
	due      bool
}

// limitsDue reports whether a tenant's limits stored at storedAt (unix ms
// as the script returned it; "" when absent) are to be read again: on the
// access cadence, so a changed limit applies within AccessMaxAge.
func (m *Manager) limitsDue(storedAt string, now time.Time) bool {
	if m.limits == nil {
		return false
	}
	at, err := strconv.ParseInt(storedAt, 10, 64)
	return err != nil || now.Sub(time.UnixMilli(at)) >= accessRefreshAfter
}

// storeLimits reads the tenant's limits and stores them for the resolve
// script. A failure is logged and leaves what is stored (or the defaults):
// it must not refuse a request that is otherwise fine.
func (m *Manager) storeLimits(ctx context.Context, tenantID string, now time.Time) {
	l, err := m.limits.TenantLimits(ctx, tenantID)
	if err != nil {
		logging.From(ctx).WarnContext(ctx, "tenant rate limits unavailable; the stored ones or the defaults apply",
			"tenantId", tenantID, "err", err)
		return
	}
	if err := m.StoreLimits(ctx, tenantID, l, now); err != nil {
		logging.From(ctx).WarnContext(ctx, "storing tenant rate limits failed", "tenantId", tenantID, "err", err)
	}
}

// StoreLimits stores tenantID's rate limits as read at now; the resolve
// script applies them from the next request. Values that are not positive
// fall back to DefaultLimits one by one, so a bad value can neither lock
// the tenant out nor divide by zero in the script.
func (m *Manager) StoreLimits(ctx context.Context, tenantID string, l Limits, now time.Time) (err error) {
	defer derrors.Wrap(&err, "session.Manager.StoreLimits(%s)", tenantID)
	if l.DevicePerSecond <= 0 {
		l.DevicePerSecond = DefaultLimits.DevicePerSecond
	}
	if l.DeviceBurst < 1 {
		l.DeviceBurst = DefaultLimits.DeviceBurst
	}
	if l.TenantPerSecond <= 0 {
		l.TenantPerSecond = DefaultLimits.TenantPerSecond
	}
	key := m.keyRateLimits(tenantID)
	_, err = m.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "devicePerSecond", l.DevicePerSecond, "deviceBurst", l.DeviceBurst,
			"tenantPerSecond", l.TenantPerSecond, "at", now.UnixMilli())
		p.Expire(ctx, key, rediskeys.RateLimitsTTL)
		return nil
	})
	return err
}
