package session

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
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
func (m *Manager) Resolve(ctx context.Context, p auth.Principal, headerID string, c Client) (_ *Session, _ bool, err error) {
	defer derrors.Wrap(&err, "session.Manager.Resolve")
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
		return nil, false, apperr.Unavailable(fmt.Errorf("resolve script: %w (%d results)", err, len(res)), "session store")
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
