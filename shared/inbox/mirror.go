package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Retention of the mirror's keys; every write renews it, so a property
// with any activity keeps its inbox. Entries themselves are pruned on read
// (expired suggestions, long-resolved alerts).
const keyTTL = rediskeys.InboxTTL

// mirror is one inbox's Redis keys for a (tenant, property):
//
//	<kind>:<tenant>:<property>        HASH upstream id → item JSON as the upstream client cleaned it
//	<kind>-end:<tenant>:<property>    HASH upstream id → RFC 3339 time the item ended
//	                                   (suggestion invalidated, alert resolved)
//	<kind>-loaded:<tenant>:<property> "1" while the last read-through is recent
//	<kind>-id:<tenant>:<entry id>     "<property> <upstream id>": what an entry id names
//
// Items and their ends live in separate hashes and are only ever added,
// so events applied in any order, or twice, leave the same state: an end
// that arrives before its item still ends it.
type mirror struct {
	rdb    *redisx.Client
	kind   string        // "aiinbox", "alertinbox"
	loaded time.Duration // how long a read-through stays trusted
}

func (m mirror) items(t, p string) string  { return m.rdb.KeyNames().InboxItems(m.kind, t, p) }
func (m mirror) ends(t, p string) string   { return m.rdb.KeyNames().InboxEnds(m.kind, t, p) }
func (m mirror) marker(t, p string) string { return m.rdb.KeyNames().InboxLoaded(m.kind, t, p) }
func (m mirror) index(t, entryID string) string {
	return m.rdb.KeyNames().InboxEntry(m.kind, t, entryID)
}

// item is one upstream item to store.
type item struct {
	upstreamID string
	entryID    string
	json       []byte
	ended      time.Time // when the upstream says it ended (zero: it has not)
}

// put stores items of a property (their entry-id index, and the ends the
// upstream reports, as end would) in one round trip. loaded marks the
// property as freshly read through.
func (m mirror) put(ctx context.Context, tenantID, propertyID string, items []item, loaded bool) error {
	pipe := m.rdb.TxPipeline()
	if len(items) > 0 {
		fields := make([]any, 0, 2*len(items))
		ended := false
		for _, it := range items {
			fields = append(fields, it.upstreamID, it.json)
			pipe.Set(ctx, m.index(tenantID, it.entryID), propertyID+" "+it.upstreamID, keyTTL)
			if !it.ended.IsZero() {
				ended = true
				pipe.HSetNX(ctx, m.ends(tenantID, propertyID), it.upstreamID, it.ended.UTC().Format(time.RFC3339Nano))
			}
		}
		pipe.HSet(ctx, m.items(tenantID, propertyID), fields...)
		pipe.Expire(ctx, m.items(tenantID, propertyID), keyTTL)
		if ended {
			pipe.Expire(ctx, m.ends(tenantID, propertyID), keyTTL)
		}
	}
	if loaded {
		pipe.Set(ctx, m.marker(tenantID, propertyID), "1", m.loaded)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store %s items: %w", m.kind, err)
	}
	return nil
}

// end records that an item ended at t. The first recorded end wins, so a
// replayed event cannot move it.
func (m mirror) end(ctx context.Context, tenantID, propertyID, upstreamID string, t time.Time) error {
	pipe := m.rdb.TxPipeline()
	pipe.HSetNX(ctx, m.ends(tenantID, propertyID), upstreamID, t.UTC().Format(time.RFC3339Nano))
	pipe.Expire(ctx, m.ends(tenantID, propertyID), keyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("end %s item: %w", m.kind, err)
	}
	return nil
}

// snapshot is what the mirror holds for a property.
type snapshot struct {
	items  map[string]string    // upstream id → JSON
	ends   map[string]time.Time // upstream id → end
	loaded bool                 // a read-through is recent
}

func (m mirror) read(ctx context.Context, tenantID, propertyID string) (snapshot, error) {
	pipe := m.rdb.Pipeline()
	items := pipe.HGetAll(ctx, m.items(tenantID, propertyID))
	ends := pipe.HGetAll(ctx, m.ends(tenantID, propertyID))
	marker := pipe.Exists(ctx, m.marker(tenantID, propertyID))
	if _, err := pipe.Exec(ctx); err != nil {
		return snapshot{}, fmt.Errorf("read %s: %w", m.kind, err)
	}
	s := snapshot{items: items.Val(), ends: map[string]time.Time{}, loaded: marker.Val() == 1}
	for id, v := range ends.Val() {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			s.ends[id] = t
		}
	}
	return s, nil
}

// get reads one item and its end.
func (m mirror) get(ctx context.Context, tenantID, propertyID, upstreamID string) (string, time.Time, bool, error) {
	pipe := m.rdb.Pipeline()
	it := pipe.HGet(ctx, m.items(tenantID, propertyID), upstreamID)
	end := pipe.HGet(ctx, m.ends(tenantID, propertyID), upstreamID)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", time.Time{}, false, fmt.Errorf("read %s item: %w", m.kind, err)
	}
	if it.Err() != nil {
		return "", time.Time{}, false, nil
	}
	var t time.Time
	if end.Err() == nil {
		t, _ = time.Parse(time.RFC3339Nano, end.Val())
	}
	return it.Val(), t, true, nil
}

// resolve returns the property and upstream id an entry id names; ok is
// false when the index does not know it.
func (m mirror) resolve(ctx context.Context, tenantID, entryID string) (propertyID, upstreamID string, ok bool, err error) {
	v, err := m.rdb.Get(ctx, m.index(tenantID, entryID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, apperr.Unavailable(fmt.Errorf("resolve %s entry: %w", m.kind, err), "the inbox cache")
	}
	propertyID, upstreamID, ok = strings.Cut(v, " ")
	return propertyID, upstreamID, ok, nil
}

// drop removes items that are of no use any more (best effort: a failure
// only leaves them for the next read). Their ends stay, so a late
// redelivery of an item cannot bring an ended one back.
func (m mirror) drop(ctx context.Context, tenantID, propertyID string, upstreamIDs []string) {
	if len(upstreamIDs) == 0 {
		return
	}
	_ = m.rdb.HDel(ctx, m.items(tenantID, propertyID), upstreamIDs...).Err()
}

// loadThrough returns what the mirror holds for a property, first reading
// through with fill (which stores what the upstream lists, marked loaded)
// when that has not happened recently. Concurrent fills of a property
// collapse into one (sf). When fill fails, what the mirror holds is
// served; with nothing held, fill's error is returned.
func (m mirror) loadThrough(ctx context.Context, sf *singleflight.Group, tenantID, propertyID string, fill func() error) (snapshot, error) {
	snap, err := m.read(ctx, tenantID, propertyID)
	if err != nil {
		return snapshot{}, apperr.Unavailable(err, "the inbox cache")
	}
	if snap.loaded {
		return snap, nil
	}
	if _, err, _ = sf.Do(tenantID+"/"+propertyID, func() (any, error) { return nil, fill() }); err != nil {
		if len(snap.items) > 0 {
			logging.From(ctx).WarnContext(ctx, "inbox read-through failed, serving the mirror", "inbox", m.kind, "propertyId", propertyID, "err", err)
			return snap, nil
		}
		return snapshot{}, err
	}
	snap, err = m.read(ctx, tenantID, propertyID)
	if err != nil {
		return snapshot{}, apperr.Unavailable(err, "the inbox cache")
	}
	return snap, nil
}

// find returns the mirrored item an entry id names and when it ended
// (zero: it has not). When the index does not know the id (a mirror
// rebuilt since the desktop listed it), the properties of scope are read
// through with load first. ok is false when the item is not found.
func (m mirror) find(ctx context.Context, tenantID, entryID string, scope []string,
	load func(ctx context.Context, tenantID, propertyID string) (snapshot, error)) (raw string, ended time.Time, ok bool, err error) {
	propertyID, upstreamID, ok, err := m.resolve(ctx, tenantID, entryID)
	for i := 0; err == nil && !ok && i < len(scope); i++ {
		if _, err = load(ctx, tenantID, scope[i]); err == nil {
			propertyID, upstreamID, ok, err = m.resolve(ctx, tenantID, entryID)
		}
	}
	if err != nil || !ok {
		return "", time.Time{}, false, err
	}
	raw, ended, ok, err = m.get(ctx, tenantID, propertyID, upstreamID)
	if err != nil {
		return "", time.Time{}, false, apperr.Unavailable(err, "the inbox cache")
	}
	return raw, ended, ok, nil
}
