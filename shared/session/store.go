package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
)

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
		return nil, apperr.Unavailable(fmt.Errorf("load %s: %w", id, err), "session store")
	}
	return decode(v)
}

func decode(v string) (*Session, error) {
	var s Session
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &s, nil
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
	return fmt.Errorf("update %s: too much contention", id)
}
