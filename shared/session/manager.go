package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Access is what tenant-service says an operator may do.
type Access struct {
	Roles             []string
	PropertyScope     []string
	PrimaryPropertyID string
}

// AccessSource resolves an operator's roles and property scope. It returns
// ErrNoAccess when the operator is unknown to the tenant.
type AccessSource interface {
	OperatorAccess(ctx context.Context, tenantID, operatorID string) (Access, error)
}

// ErrNoAccess is returned by an AccessSource for an unknown operator.
var ErrNoAccess = errors.New("session: operator has no access")

// Manager opens, resolves and ends sessions.
type Manager struct {
	rdb     *redisx.Client
	access  AccessSource
	piiKey  []byte
	now     func() time.Time
	theme   string
	defLang string

	mu     sync.Mutex
	recent map[string]recentSession
}

// Options tune a Manager.
type Options struct {
	// PIIKey keys the hashes of IPs and user agents.
	PIIKey []byte
	// Now replaces the clock in tests.
	Now func() time.Time
}

// NewManager returns a Manager over rdb that resolves access through src.
func NewManager(rdb *redisx.Client, src AccessSource, opts Options) *Manager {
	m := &Manager{rdb: rdb, access: src, piiKey: opts.PIIKey, now: opts.Now, theme: "default", defLang: "en-US"}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

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

// Reasons a session ends; they travel in session.closed.v1 and cutoffs.
const (
	ReasonSignedOut = "signed_out"
	ReasonRevoked   = "revoked"
)

// Resolve returns the open session of the token's (tenant, operator, device),
// opening one when there is none; opened reports that this call created it.
// headerID is the client's X-Session-Id ("" when absent).
//
// Errors: SESSION_REVOKED for a token issued before a revocation,
// UNAUTHENTICATED for one issued before a sign-out, SESSION_DEVICE_MISMATCH
// when headerID names another operator's or device's session,
// NO_PROPERTY_SCOPE when tenant-service grants no property, VALIDATION_FAILED
// for a malformed headerID, UPSTREAM_UNAVAILABLE when Redis or tenant-service
// is down.
func (m *Manager) Resolve(ctx context.Context, p auth.Principal, headerID string, c Client) (*Session, bool, error) {
	if headerID != "" {
		if err := ids.Check(ids.Session, headerID); err != nil {
			return nil, false, apperr.Validation(apperr.FieldError{Field: "X-Session-Id", Message: err.Error()})
		}
	}
	now := m.now()

	// One round trip: both cutoffs, the index (slid), the session it
	// points at (slid) and the named session when it is another one.
	res, err := resolveScript.Run(ctx, m.rdb,
		[]string{m.keyCutoff(p.TenantID, p.OperatorID, ""), m.keyCutoff(p.TenantID, p.OperatorID, p.DeviceID), m.keyIndex(p)},
		int64(TTL/time.Second), m.keySession(""), headerID).Slice()
	if err != nil || len(res) != 5 {
		return nil, false, apperr.Unavailable(fmt.Errorf("session.Resolve: %w (%d results)", err, len(res)), "session store")
	}
	if err := checkCutoff(p, pairs(res[0])); err != nil {
		return nil, false, err
	}
	if err := checkCutoff(p, pairs(res[1])); err != nil {
		return nil, false, err
	}
	id, _ := res[2].(string)
	cur, _ := res[3].(string)
	named, _ := res[4].(string)
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

	if id != "" && cur != "" {
		s, err := m.decode(id, cur)
		if err != nil {
			return nil, false, err
		}
		if s.State == StateOpen {
			if now.Sub(s.LastActivityAt.Time) > touchEvery {
				m.touch(ctx, s, c, now)
			}
			s.TTLExpiresAt = jsontime.Of(now.Add(TTL))
			return s, false, nil
		}
	}
	// No index, or it points at an ended or vanished session: open anew.
	return m.open(ctx, p, c, now)
}

// resolveScript reads what Resolve needs in one round trip. KEYS: the
// operator's and the device's cutoffs, the device's session index. ARGV:
// the sliding TTL in seconds, the session key prefix, the X-Session-Id
// ("" when absent). The session key is derived from the index's value,
// which is why it is built here (Memorystore is not a cluster).
var resolveScript = redis.NewScript(`
local opc = redis.call('HGETALL', KEYS[1])
local dvc = redis.call('HGETALL', KEYS[2])
local id = redis.call('GETEX', KEYS[3], 'EX', ARGV[1])
local cur = false
if id then cur = redis.call('GETEX', ARGV[2] .. id, 'EX', ARGV[1]) end
local named = false
if ARGV[3] ~= '' and ARGV[3] ~= id then named = redis.call('GET', ARGV[2] .. ARGV[3]) end
return {opc, dvc, id, cur, named}`)

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

func (m *Manager) open(ctx context.Context, p auth.Principal, c Client, now time.Time) (*Session, bool, error) {
	acc, err := m.access.OperatorAccess(ctx, p.TenantID, p.OperatorID)
	if errors.Is(err, ErrNoAccess) {
		acc = Access{}
	} else if err != nil {
		return nil, false, fmt.Errorf("session.open: %w", err)
	}
	if len(acc.PropertyScope) == 0 {
		return nil, false, apperr.New(apperr.NoPropertyScope, "the operator has no property in scope")
	}
	primary := acc.PrimaryPropertyID
	if !slices.Contains(acc.PropertyScope, primary) {
		primary = ""
	}
	locale := c.Locale
	if !ValidLocale(locale) {
		locale = m.defLang
	}
	network := c.NetworkProfile
	if network == "" {
		network = "good"
	}
	s := &Session{
		ID:                ids.NewAt(ids.Session, now),
		TenantID:          p.TenantID,
		OperatorID:        p.OperatorID,
		DeviceID:          p.DeviceID,
		PropertyScope:     acc.PropertyScope,
		PrimaryPropertyID: primary,
		Roles:             acc.Roles,
		Locale:            locale,
		ThemeVersion:      m.theme,
		AppVersion:        c.AppVersion,
		AppPlatform:       c.AppPlatform,
		NetworkProfile:    network,
		State:             StateOpen,
		OpenedAt:          jsontime.Of(now),
		LastActivityAt:    jsontime.Of(now),
		TTLExpiresAt:      jsontime.Of(now.Add(TTL)),
		FingerprintHash:   hashPII(m.piiKey, c.UserAgent),
		IPHash:            hashPII(m.piiKey, c.IP),
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, false, fmt.Errorf("session.open: encode: %w", err)
	}
	// The session body goes first and the index claims it with NX, so
	// concurrent first requests of one device agree on a single session and
	// only the winner reports opened=true (one opened event, one auth row).
	if err := m.rdb.Set(ctx, m.keySession(s.ID), b, TTL).Err(); err != nil {
		return nil, false, apperr.Unavailable(fmt.Errorf("session.open: %w", err), "session store")
	}
	won, err := m.claimIndex(ctx, p, s.ID)
	if err != nil {
		return nil, false, err
	}
	if !won {
		m.rdb.Del(context.WithoutCancel(ctx), m.keySession(s.ID))
		id, err := m.rdb.Get(ctx, m.keyIndex(p)).Result()
		if err != nil {
			return nil, false, apperr.Unavailable(fmt.Errorf("session.open: read winner: %w", err), "session store")
		}
		other, err := m.load(ctx, id, false)
		if err != nil {
			return nil, false, err
		}
		return other, false, nil
	}
	opKey := m.keyOperator(p.TenantID, p.OperatorID)
	pipe := m.rdb.TxPipeline()
	pipe.SAdd(ctx, opKey, s.ID)
	pipe.Expire(ctx, opKey, cutoffTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, apperr.Unavailable(fmt.Errorf("session.open: index operator: %w", err), "session store")
	}
	return s, true, nil
}

// claimIndex points the device's index at id unless an open session already
// holds it; an index left pointing at an ended or vanished session is
// replaced atomically.
func (m *Manager) claimIndex(ctx context.Context, p auth.Principal, id string) (bool, error) {
	key := m.keyIndex(p)
	for range 5 {
		ok, err := m.rdb.SetNX(ctx, key, id, TTL).Result()
		if err != nil {
			return false, apperr.Unavailable(fmt.Errorf("session.claimIndex: %w", err), "session store")
		}
		if ok {
			return true, nil
		}
		cur, err := m.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return false, apperr.Unavailable(fmt.Errorf("session.claimIndex: %w", err), "session store")
		}
		s, err := m.load(ctx, cur, false)
		if err == nil && s.State == StateOpen {
			return false, nil
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			return false, err
		}
		// Replace the stale pointer only if nobody replaced it meanwhile.
		swapped, err := compareAndSet.Run(ctx, m.rdb, []string{key}, cur, id, int(TTL/time.Second)).Int()
		if err != nil {
			return false, apperr.Unavailable(fmt.Errorf("session.claimIndex: swap: %w", err), "session store")
		}
		if swapped == 1 {
			return true, nil
		}
	}
	return false, nil
}

var compareAndSet = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0`)

// Discard removes a session that was opened but whose opening could not be
// recorded, so the next request opens (and records) it again.
func (m *Manager) Discard(ctx context.Context, s *Session) {
	ctx = context.WithoutCancel(ctx)
	p := auth.Principal{TenantID: s.TenantID, OperatorID: s.OperatorID, DeviceID: s.DeviceID}
	pipe := m.rdb.TxPipeline()
	pipe.Del(ctx, m.keySession(s.ID))
	pipe.SRem(ctx, m.keyOperator(s.TenantID, s.OperatorID), s.ID)
	_, _ = pipe.Exec(ctx)
	_, _ = compareAndDelete.Run(ctx, m.rdb, []string{m.keyIndex(p)}, s.ID).Result()
}

var compareAndDelete = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// load reads a session; slide also extends its TTL.
func (m *Manager) load(ctx context.Context, id string, slide bool) (*Session, error) {
	var (
		v   string
		err error
	)
	if slide {
		v, err = m.rdb.GetEx(ctx, m.keySession(id), TTL).Result()
	} else {
		v, err = m.rdb.Get(ctx, m.keySession(id)).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, err
	}
	if err != nil {
		return nil, apperr.Unavailable(fmt.Errorf("session.load %s: %w", id, err), "session store")
	}
	return decode(v)
}

func decode(v string) (*Session, error) {
	var s Session
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return nil, fmt.Errorf("session.decode: %w", err)
	}
	return &s, nil
}

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

// touch records activity and the client's current build; a lost race with
// another writer only loses a lastActivityAt refresh.
func (m *Manager) touch(ctx context.Context, s *Session, c Client, now time.Time) {
	_ = m.update(ctx, s.ID, func(cur *Session) error {
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
		*s = *cur
		return nil
	})
}

var errStop = errors.New("session: stop update")

// update applies fn to the stored session under optimistic locking, so a
// concurrent revocation is never overwritten by a stale copy.
func (m *Manager) update(ctx context.Context, id string, fn func(*Session) error) error {
	key := m.keySession(id)
	for range 8 {
		err := m.rdb.Watch(ctx, func(tx *redis.Tx) error {
			v, err := tx.Get(ctx, key).Result()
			if err != nil {
				return err
			}
			s, err := decode(v)
			if err != nil {
				return err
			}
			if err := fn(s); err != nil {
				return err
			}
			b, err := json.Marshal(s)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.SetArgs(ctx, key, b, redis.SetArgs{KeepTTL: true})
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return err
	}
	return fmt.Errorf("session.update %s: too much contention", id)
}

// Patch is a change to a session's operator-chosen settings.
type Patch struct {
	PrimaryPropertyID *string // "" clears it
	Locale            *string
}

// Update applies a patch to the caller's session and returns the result.
func (m *Manager) Update(ctx context.Context, s *Session, pt Patch) (*Session, error) {
	var out *Session
	err := m.update(ctx, s.ID, func(cur *Session) error {
		if cur.State != StateOpen {
			return apperr.New(apperr.SessionRevoked, "the session is no longer open")
		}
		if pt.PrimaryPropertyID != nil {
			if *pt.PrimaryPropertyID != "" && !cur.InScope(*pt.PrimaryPropertyID) {
				return apperr.New(apperr.PropertyOutOfScope, "primaryPropertyId is not in the session's property scope")
			}
			cur.PrimaryPropertyID = *pt.PrimaryPropertyID
		}
		if pt.Locale != nil {
			cur.Locale = *pt.Locale
		}
		cur.LastActivityAt = jsontime.Of(m.now())
		out = cur
		return nil
	})
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			return nil, err
		}
		if errors.Is(err, redis.Nil) {
			return nil, apperr.New(apperr.Unauthenticated, "the session has ended; sign in again")
		}
		return nil, apperr.Unavailable(fmt.Errorf("session.Update: %w", err), "session store")
	}
	out.TTLExpiresAt = jsontime.Of(m.now().Add(TTL))
	return out, nil
}

// Close signs the session out: it is marked closed, the device's index is
// cleared, and every token of the device issued until now stops working.
func (m *Manager) Close(ctx context.Context, s *Session) (*Session, error) {
	now := m.now()
	ended, err := m.end(ctx, s.ID, ReasonSignedOut, now)
	if err != nil {
		return nil, err
	}
	if err := m.setCutoff(ctx, m.keyCutoff(s.TenantID, s.OperatorID, s.DeviceID), now, ReasonSignedOut); err != nil {
		return nil, err
	}
	if ended == nil {
		ended = s
	}
	return ended, nil
}

// end moves one session to closed or revoked; it returns nil when the
// session was already ended or is gone.
func (m *Manager) end(ctx context.Context, id, reason string, at time.Time) (*Session, error) {
	var out *Session
	err := m.update(ctx, id, func(cur *Session) error {
		if cur.State != StateOpen {
			return errStop
		}
		if reason == ReasonRevoked {
			cur.State = StateRevoked
		} else {
			cur.State = StateClosed
		}
		cur.EndedAt = jsontime.Of(at)
		cur.EndReason = reason
		out = cur
		return nil
	})
	switch {
	case errors.Is(err, errStop), errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		return nil, apperr.Unavailable(fmt.Errorf("session.end %s: %w", id, err), "session store")
	}
	p := auth.Principal{TenantID: out.TenantID, OperatorID: out.OperatorID, DeviceID: out.DeviceID}
	if _, err := compareAndDelete.Run(ctx, m.rdb, []string{m.keyIndex(p)}, id).Result(); err != nil {
		return nil, apperr.Unavailable(fmt.Errorf("session.end %s: clear index: %w", id, err), "session store")
	}
	return out, nil
}

// setCutoff records that tokens issued at or before at are dead. It keeps
// the latest cutoff, so replayed or reordered events never move it back.
func (m *Manager) setCutoff(ctx context.Context, key string, at time.Time, reason string) error {
	err := maxCutoff.Run(ctx, m.rdb, []string{key}, at.UnixMilli(), reason, int(cutoffTTL/time.Second)).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return apperr.Unavailable(fmt.Errorf("session.setCutoff: %w", err), "session store")
	}
	return nil
}

var maxCutoff = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
local at = tonumber(ARGV[1])
if at > cur or (at == cur and ARGV[2] == 'revoked') then
  redis.call('HSET', KEYS[1], 'at', ARGV[1], 'reason', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`)

// Revocation names what melmastoon.iam.session.revoked.v1 revokes: one
// session, one device's sessions, or (both empty) all of an operator's.
type Revocation struct {
	TenantID   string
	OperatorID string
	DeviceID   string
	SessionID  string
	At         time.Time
}

// Revoke applies a revocation and returns the sessions it moved to revoked
// (each needs a session.closed.v1 and a forceLogout). Applying the same
// revocation again changes nothing and returns none.
func (m *Manager) Revoke(ctx context.Context, r Revocation) ([]*Session, error) {
	device := r.DeviceID
	var candidates []string
	if r.SessionID != "" {
		s, err := m.load(ctx, r.SessionID, false)
		switch {
		case err == nil:
			if s.TenantID != r.TenantID || s.OperatorID != r.OperatorID {
				// An event naming someone else's session must not revoke it.
				return nil, nil
			}
			if device == "" {
				device = s.DeviceID
			}
			candidates = []string{s.ID}
		case !errors.Is(err, redis.Nil):
			return nil, err
		}
	}
	cutKey := m.keyCutoff(r.TenantID, r.OperatorID, device)
	if r.SessionID != "" && device == "" {
		// The session is gone and names no device: nothing can present it.
		return nil, nil
	}
	if err := m.setCutoff(ctx, cutKey, r.At, ReasonRevoked); err != nil {
		return nil, err
	}
	if r.SessionID == "" {
		all, err := m.rdb.SMembers(ctx, m.keyOperator(r.TenantID, r.OperatorID)).Result()
		if err != nil {
			return nil, apperr.Unavailable(fmt.Errorf("session.Revoke: %w", err), "session store")
		}
		candidates = all
	}
	var out []*Session
	for _, id := range candidates {
		s, err := m.load(ctx, id, false)
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return out, err
		}
		if device != "" && s.DeviceID != device {
			continue
		}
		// A session opened after the revocation belongs to a newer login.
		if s.OpenedAt.After(r.At) {
			continue
		}
		if s.State == StateRevoked && s.EndedAt.Equal(jsontime.Of(r.At).Time) {
			// Revoked by this same revocation on an earlier delivery whose
			// follow-up (forceLogout, closed event) may not have finished.
			out = append(out, s)
			continue
		}
		ended, err := m.end(ctx, id, ReasonRevoked, r.At)
		if err != nil {
			return out, err
		}
		if ended != nil {
			out = append(out, ended)
		}
	}
	return out, nil
}

// Get returns a session by id, or nil when it is gone.
func (m *Manager) Get(ctx context.Context, id string) (*Session, error) {
	s, err := m.load(ctx, id, false)
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return s, err
}
