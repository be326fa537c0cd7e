package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

func (m *Manager) open(ctx context.Context, p auth.Principal, c Client, now time.Time, lr limitsRead) (*Session, bool, error) {
	acc, err := m.readAccess(ctx, p, lr, now)
	if err != nil {
		return nil, false, err
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
		ID:                  ids.NewAt(ids.Session, now),
		TenantID:            p.TenantID,
		OperatorID:          p.OperatorID,
		DeviceID:            p.DeviceID,
		PropertyScope:       acc.PropertyScope,
		PrimaryPropertyID:   primary,
		Roles:               acc.Roles,
		Locale:              locale,
		ThemeVersion:        m.theme,
		AppVersion:          c.AppVersion,
		AppPlatform:         c.AppPlatform,
		NetworkProfile:      network,
		State:               StateOpen,
		OpenedAt:            jsontime.Of(now),
		LastActivityAt:      jsontime.Of(now),
		TTLExpiresAt:        jsontime.Of(now.Add(TTL)),
		FingerprintHash:     hashPII(m.piiKey, c.UserAgent),
		IPHash:              hashPII(m.piiKey, c.IP),
		AccessCheckedAt:     jsontime.Of(now),
		AccessTokenIssuedAt: jsontime.Of(p.IssuedAt),
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, false, fmt.Errorf("encode: %w", err)
	}
	// The session body and its expiry go first and the index claims it
	// with NX, so concurrent first requests of one device agree on a single
	// session and only the winner reports opened=true (one opened event,
	// one auth row); a resolve that finds the index finds the expiry too.
	pipe := m.rdb.TxPipeline()
	pipe.Set(ctx, m.keySession(s.ID), b, keep)
	pipe.ZAdd(ctx, m.keyExpiry(), redis.Z{Score: float64(s.TTLExpiresAt.UnixMilli()), Member: s.ID})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, apperr.Unavailable(fmt.Errorf("store session: %w", err), "session store")
	}
	won, err := m.claimIndex(ctx, p, s.ID, now)
	if err != nil {
		return nil, false, err
	}
	if !won {
		m.forget(context.WithoutCancel(ctx), s)
		id, err := m.rdb.Get(ctx, m.keyIndex(p)).Result()
		if err != nil {
			return nil, false, apperr.Unavailable(fmt.Errorf("read winner: %w", err), "session store")
		}
		other, err := m.load(ctx, id, false)
		if err != nil {
			return nil, false, err
		}
		return other, false, nil
	}
	opKey := m.keyOperator(p.TenantID, p.OperatorID)
	pipe = m.rdb.TxPipeline()
	pipe.SAdd(ctx, opKey, s.ID)
	pipe.Expire(ctx, opKey, cutoffTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, apperr.Unavailable(fmt.Errorf("index operator: %w", err), "session store")
	}
	return s, true, nil
}

// claimIndex points the device's index at id unless a live session already
// holds it; an index left pointing at an ended, idle-expired or vanished
// session is replaced atomically.
func (m *Manager) claimIndex(ctx context.Context, p auth.Principal, id string, now time.Time) (bool, error) {
	key := m.keyIndex(p)
	for range 5 {
		ok, err := m.rdb.SetNX(ctx, key, id, TTL).Result()
		if err != nil {
			return false, apperr.Unavailable(fmt.Errorf("claim index: %w", err), "session store")
		}
		if ok {
			return true, nil
		}
		cur, err := m.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return false, apperr.Unavailable(fmt.Errorf("claim index: %w", err), "session store")
		}
		live, err := m.alive(ctx, cur, now)
		if err != nil {
			return false, err
		}
		if live {
			return false, nil
		}
		// Replace the stale pointer only if nobody replaced it meanwhile.
		swapped, err := compareAndSet.Run(ctx, m.rdb, []string{key}, cur, id, int(TTL/time.Second)).Int()
		if err != nil {
			return false, apperr.Unavailable(fmt.Errorf("claim index: swap: %w", err), "session store")
		}
		if swapped == 1 {
			return true, nil
		}
	}
	return false, nil
}

// alive reports whether session id is open and its idle expiry lies ahead
// of now.
func (m *Manager) alive(ctx context.Context, id string, now time.Time) (bool, error) {
	pipe := m.rdb.Pipeline()
	get := pipe.Get(ctx, m.keySession(id))
	score := pipe.ZScore(ctx, m.keyExpiry(), id)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, apperr.Unavailable(fmt.Errorf("alive %s: %w", id, err), "session store")
	}
	if get.Err() != nil || score.Err() != nil || score.Val() <= float64(now.UnixMilli()) {
		return false, nil
	}
	s, err := decode(get.Val())
	if err != nil {
		return false, err
	}
	return s.State == StateOpen, nil
}

// forget removes a session's body, expiry and operator-set entry.
func (m *Manager) forget(ctx context.Context, s *Session) {
	pipe := m.rdb.TxPipeline()
	pipe.Del(ctx, m.keySession(s.ID))
	pipe.ZRem(ctx, m.keyExpiry(), s.ID)
	pipe.SRem(ctx, m.keyOperator(s.TenantID, s.OperatorID), s.ID)
	_, _ = pipe.Exec(ctx)
}

// Discard removes a session that was opened but whose opening could not be
// recorded, so the next request opens (and records) it again.
func (m *Manager) Discard(ctx context.Context, s *Session) {
	ctx = context.WithoutCancel(ctx)
	p := auth.Principal{TenantID: s.TenantID, OperatorID: s.OperatorID, DeviceID: s.DeviceID}
	m.forget(ctx, s)
	_, _ = compareAndDelete.Run(ctx, m.rdb, []string{m.keyIndex(p)}, s.ID).Result()
}

// Patch is a change to a session's operator-chosen settings.
type Patch struct {
	PrimaryPropertyID *string // "" clears it
	Locale            *string
}

// Update applies a patch to the caller's session and returns the result.
func (m *Manager) Update(ctx context.Context, s *Session, pt Patch) (_ *Session, err error) {
	defer derrors.Wrap(&err, "session.Manager.Update(%s)", s.ID)
	var out *Session
	err = m.update(ctx, s.ID, func(cur *Session) error {
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
		return nil, apperr.Unavailable(err, "session store")
	}
	out.TTLExpiresAt = jsontime.Of(m.now().Add(TTL))
	return out, nil
}

// Close signs the session out with the token issued at tokenIat: every
// token of the device issued until now (or until tokenIat, when the issuer's
// clock runs ahead) stops working, then the session is marked closed and the
// device's index cleared. The cutoff goes first: a failure between the two
// steps leaves the tokens dead and the session open for nothing, never the
// session closed and its tokens still good.
func (m *Manager) Close(ctx context.Context, s *Session, tokenIat time.Time) (_ *Session, err error) {
	defer derrors.Wrap(&err, "session.Manager.Close(%s)", s.ID)
	now := m.now()
	at := now
	if tokenIat.After(at) {
		// The signing-out token must die with its session.
		at = tokenIat
	}
	if err := m.setCutoff(ctx, m.keyCutoff(s.TenantID, s.OperatorID, s.DeviceID), at, ReasonSignedOut); err != nil {
		return nil, err
	}
	ended, err := m.end(ctx, s.ID, ReasonSignedOut, now)
	if err != nil {
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
		return nil, apperr.Unavailable(fmt.Errorf("end %s: %w", id, err), "session store")
	}
	// An ended session leaves the expiry index: the sweeper expires only
	// sessions that were still open.
	if err := m.rdb.ZRem(ctx, m.keyExpiry(), id).Err(); err != nil {
		return nil, apperr.Unavailable(fmt.Errorf("end %s: clear expiry: %w", id, err), "session store")
	}
	p := auth.Principal{TenantID: out.TenantID, OperatorID: out.OperatorID, DeviceID: out.DeviceID}
	if _, err := compareAndDelete.Run(ctx, m.rdb, []string{m.keyIndex(p)}, id).Result(); err != nil {
		return nil, apperr.Unavailable(fmt.Errorf("end %s: clear index: %w", id, err), "session store")
	}
	return out, nil
}
