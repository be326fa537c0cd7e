package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
)

// ReasonExpired ends a session that stayed idle for TTL.
const ReasonExpired = "expired"

// sweepLease bounds how long a sweeper run holds what it claimed.
const sweepLease = rediskeys.SessionSweepLease

// SweepResult is what one sweep did.
type SweepResult struct {
	// Expired counts sessions moved to expired and announced.
	Expired int `json:"expired"`
	// Gone counts claimed sessions whose key had already vanished (the
	// sweeper was away longer than the grace) or that ended otherwise.
	Gone int `json:"gone"`
	// More is true when the sweep stopped at its limit with due sessions
	// possibly left.
	More bool `json:"more"`
}

// Sweep expires up to limit idle sessions: each due session is claimed by
// exactly one run (two overlapping runs split the due ones), moved to
// expired, taken off its device's index and the operator's set, and handed
// to emit (session.closed.v1). A session whose emit fails stays claimed and
// is claimed again after the lease, emitted anew with the same EndedAt, so
// an emit that derives its event id from the session and EndedAt stays
// idempotent. The first emit error stops the sweep and is returned.
func (m *Manager) Sweep(ctx context.Context, limit int, emit func(context.Context, *Session) error) (_ SweepResult, err error) {
	defer derrors.Wrap(&err, "session.Manager.Sweep")
	var res SweepResult
	if limit <= 0 {
		limit = 500
	}
	now := m.now()
	// Entries leased to other runs are skipped, so look past them.
	flat, err := claimExpired.Run(ctx, m.rdb, []string{m.keyExpiry(), m.keyExpiryClaimed()},
		now.UnixMilli(), limit, now.Add(sweepLease).UnixMilli(), 2*limit+100).StringSlice()
	if err != nil {
		return res, apperr.Unavailable(fmt.Errorf("claim: %w", err), "session store")
	}
	res.More = len(flat)/2 >= limit
	for i := 0; i+1 < len(flat); i += 2 {
		id := flat[i]
		at := now
		if ms, err := strconv.ParseFloat(flat[i+1], 64); err == nil && ms > 0 {
			at = time.UnixMilli(int64(ms))
		}
		s, err := m.expire(ctx, id, at)
		if err != nil {
			return res, err
		}
		if s == nil {
			res.Gone++
			m.release(ctx, id)
			continue
		}
		if err := emit(ctx, s); err != nil {
			return res, fmt.Errorf("emit %s: %w", id, err)
		}
		m.release(ctx, id)
		res.Expired++
	}
	return res, nil
}

// expire moves session id from open to expired as of at, its idle expiry,
// and clears its index and operator-set entry. It returns the session when
// it is expired (now or by an earlier run that did not finish) and nil
// when it is gone or ended otherwise.
func (m *Manager) expire(ctx context.Context, id string, at time.Time) (*Session, error) {
	var out *Session
	err := m.update(ctx, id, func(cur *Session) error {
		switch cur.State {
		case StateOpen:
			cur.State = StateExpired
			cur.EndedAt = jsontime.Of(at)
			cur.EndReason = ReasonExpired
			cur.TTLExpiresAt = jsontime.Of(at)
			out = cur
			return nil
		case StateExpired:
			out = cur
		}
		return errStop
	})
	switch {
	case errors.Is(err, errStop) && out != nil:
	case errors.Is(err, errStop), errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		return nil, apperr.Unavailable(fmt.Errorf("expire %s: %w", id, err), "session store")
	}
	p := auth.Principal{TenantID: out.TenantID, OperatorID: out.OperatorID, DeviceID: out.DeviceID}
	if _, err := compareAndDelete.Run(ctx, m.rdb, []string{m.keyIndex(p)}, id).Result(); err != nil {
		return nil, apperr.Unavailable(fmt.Errorf("expire %s: clear index: %w", id, err), "session store")
	}
	if err := m.rdb.SRem(ctx, m.keyOperator(out.TenantID, out.OperatorID), id).Err(); err != nil {
		return nil, apperr.Unavailable(fmt.Errorf("expire %s: operator set: %w", id, err), "session store")
	}
	return out, nil
}

// release drops a finished claim and the session's expiry entry; one left
// behind is only claimed again and found expired, which emits the same
// event again.
func (m *Manager) release(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	pipe := m.rdb.TxPipeline()
	pipe.ZRem(ctx, m.keyExpiry(), id)
	pipe.ZRem(ctx, m.keyExpiryClaimed(), id)
	_, _ = pipe.Exec(ctx)
}
