package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// setCutoff records that tokens issued at or before at are dead. It keeps
// the latest cutoff, so replayed or reordered events never move it back.
func (m *Manager) setCutoff(ctx context.Context, key string, at time.Time, reason string) error {
	err := maxCutoff.Run(ctx, m.rdb, []string{key}, at.UnixMilli(), reason, int(cutoffTTL/time.Second)).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return apperr.Unavailable(fmt.Errorf("set cutoff: %w", err), "session store")
	}
	return nil
}

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
// revocation again changes nothing and returns none. A revocation dated in
// the future (or not dated) counts as of now: the cutoff only moves
// forward, so a future date would refuse the operator's next sign-ins
// until then.
func (m *Manager) Revoke(ctx context.Context, r Revocation) (_ []*Session, err error) {
	defer derrors.Wrap(&err, "session.Manager.Revoke")
	if now := m.now(); r.At.IsZero() || r.At.After(now) {
		r.At = now
	}
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
			return nil, apperr.Unavailable(fmt.Errorf("operator sessions: %w", err), "session store")
		}
		candidates = all
	}
	var out []*Session
	var gone []any
	defer func() {
		// The operator's set has no end of its own while the operator
		// stays active; members whose session key expired go here.
		if len(gone) > 0 && r.SessionID == "" {
			m.rdb.SRem(context.WithoutCancel(ctx), m.keyOperator(r.TenantID, r.OperatorID), gone...)
		}
	}()
	for _, id := range candidates {
		s, err := m.load(ctx, id, false)
		if errors.Is(err, redis.Nil) {
			gone = append(gone, id)
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
