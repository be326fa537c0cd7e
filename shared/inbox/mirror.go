package inbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
// with any activity keeps its inbox. Entries leave on their own schedule
// (see Retention).
const keyTTL = rediskeys.InboxTTL

// Retention: how long entries stay in the mirrors. Pruning is part of
// every write to a property's mirror (an event, a read-through, a
// decision): it removes a bounded batch of the entries that are due, so
// no write and no read ever walks the whole mirror.
const (
	// DecidedKeep: a decided suggestion is listed (status decided or all)
	// for 7 days after its decision, then leaves. The decision itself is
	// permanent in Postgres.
	DecidedKeep = 7 * 24 * time.Hour
	// ExpiredKeep: an undecided suggestion is listed as expired (status
	// all) for a day after it expired, then leaves.
	ExpiredKeep = 24 * time.Hour
	// ResolvedKeep: a resolved alert is listed (status resolved or all)
	// for 7 days after its resolution.
	ResolvedKeep = 7 * 24 * time.Hour
	// endKeep: an ended item (invalidated, resolved) is kept, unlisted
	// once past its listing window, for as long as a redelivery of its
	// creation can arrive (the event markers' lifetime, past Pub/Sub's
	// retention), so a late copy cannot bring it back.
	endKeep = rediskeys.EventMarkerTTL
	// openKeep bounds an entry that never ends (an alert nobody resolves,
	// a suggestion with an absurd expiry): it leaves 30 days after it was
	// first mirrored.
	openKeep = rediskeys.InboxTTL
	// pruneBatch is how many due entries one write removes at most, on
	// top of one per item it writes, so pruning keeps pace with writes.
	pruneBatch = 100
)

// mirror is one inbox's Redis keys for a (tenant, property):
//
//	<kind>:<t>:<p>                    HASH upstream id → item JSON as the upstream client cleaned it
//	<kind>-end:<t>:<p>                HASH upstream id → RFC 3339 time the item ended
//	                                   (suggestion invalidated, alert resolved)
//	<kind>-order:<t>:<p>:<category>   ZSET "<entry id> <upstream id>" at score 0: lists page
//	                                   through it newest first with ZRANGE BYLEX, since an
//	                                   entry id is a ULID of when the item arose
//	<kind>-gone:<t>:<p>               ZSET upstream id → when it leaves the mirror (unix ms)
//	<kind>-loaded:<t>:<p>             "1" while the last read-through is recent
//	<kind>-id:<t>:<entry id>          "<property> <upstream id>": what an entry id names
//
// Items and their ends live in separate hashes and are only ever added
// (until pruned), so events applied in any order, or twice, leave the same
// state: an end that arrives before its item still ends it. One order index
// per category lets a list read only the categories the caller may see, so
// a role that sees few categories still gets full pages for bounded work.
type mirror struct {
	rdb    *redisx.Client
	kind   string        // "aiinbox", "alertinbox"
	loaded time.Duration // how long a read-through stays trusted
	// bucket is the order index an item's category goes to: the category
	// itself when the upstream's model knows it, else a catch-all, so the
	// number of indexes per property stays bounded.
	bucket func(category string) string
	// describe reads the entry id and category of a stored item, for
	// pruning (an end can arrive before its item, so the schedule holds
	// only the upstream id).
	describe func(tenantID, raw string) (entryID, category string, ok bool)
	now      func() time.Time
}

func (m mirror) items(t, p string) string  { return m.rdb.KeyNames().InboxItems(m.kind, t, p) }
func (m mirror) ends(t, p string) string   { return m.rdb.KeyNames().InboxEnds(m.kind, t, p) }
func (m mirror) marker(t, p string) string { return m.rdb.KeyNames().InboxLoaded(m.kind, t, p) }
func (m mirror) gone(t, p string) string   { return m.rdb.KeyNames().InboxGone(m.kind, t, p) }
func (m mirror) order(t, p, category string) string {
	return m.rdb.KeyNames().InboxOrder(m.kind, t, p, m.bucket(category))
}
func (m mirror) index(t, entryID string) string {
	return m.rdb.KeyNames().InboxEntry(m.kind, t, entryID)
}

// member is an item's member of its order index. Entry ids have one
// length, so members sort as their entry ids do.
func member(entryID, upstreamID string) string { return entryID + " " + upstreamID }

// item is one upstream item to store.
type item struct {
	upstreamID string
	entryID    string
	category   string
	json       []byte
	ended      time.Time // when the upstream says it ended (zero: it has not)
	// leaves is when an item that has not ended leaves the mirror, unless
	// an earlier write scheduled it already or a later one (an end, a
	// decision) moves it.
	leaves time.Time
}

func ms(t time.Time) float64 { return float64(t.UnixMilli()) }

// put stores items of a property (their entry-id index, order index, and
// the ends the upstream reports, as end would) in one round trip, then
// prunes what is due. loaded marks the property as freshly read through.
func (m mirror) put(ctx context.Context, tenantID, propertyID string, items []item, loaded bool) error {
	pipe := m.rdb.TxPipeline()
	if len(items) > 0 {
		fields := make([]any, 0, 2*len(items))
		orders := map[string]bool{}
		ended := false
		for _, it := range items {
			fields = append(fields, it.upstreamID, it.json)
			pipe.Set(ctx, m.index(tenantID, it.entryID), propertyID+" "+it.upstreamID, keyTTL)
			order := m.order(tenantID, propertyID, it.category)
			orders[order] = true
			pipe.ZAdd(ctx, order, redis.Z{Member: member(it.entryID, it.upstreamID)})
			if !it.ended.IsZero() {
				ended = true
				pipe.HSetNX(ctx, m.ends(tenantID, propertyID), it.upstreamID, it.ended.UTC().Format(time.RFC3339Nano))
				pipe.ZAdd(ctx, m.gone(tenantID, propertyID), redis.Z{Score: ms(it.ended.Add(endKeep)), Member: it.upstreamID})
			} else {
				pipe.ZAddNX(ctx, m.gone(tenantID, propertyID), redis.Z{Score: ms(it.leaves), Member: it.upstreamID})
			}
		}
		pipe.HSet(ctx, m.items(tenantID, propertyID), fields...)
		pipe.Expire(ctx, m.items(tenantID, propertyID), keyTTL)
		pipe.Expire(ctx, m.gone(tenantID, propertyID), keyTTL)
		for order := range orders {
			pipe.Expire(ctx, order, keyTTL)
		}
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
	m.prune(ctx, tenantID, propertyID, pruneBatch+len(items))
	return nil
}

// end records that an item ended at t and schedules it to leave once its
// creation can no longer be redelivered. The first recorded end wins, so a
// replayed event cannot move it.
func (m mirror) end(ctx context.Context, tenantID, propertyID, upstreamID string, t time.Time) error {
	pipe := m.rdb.TxPipeline()
	pipe.HSetNX(ctx, m.ends(tenantID, propertyID), upstreamID, t.UTC().Format(time.RFC3339Nano))
	pipe.Expire(ctx, m.ends(tenantID, propertyID), keyTTL)
	pipe.ZAdd(ctx, m.gone(tenantID, propertyID), redis.Z{Score: ms(t.Add(endKeep)), Member: upstreamID})
	pipe.Expire(ctx, m.gone(tenantID, propertyID), keyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("end %s item: %w", m.kind, err)
	}
	m.prune(ctx, tenantID, propertyID, pruneBatch)
	return nil
}

// leaveAt sets when an item leaves the mirror (a decision: its window
// after the decision, whatever its expiry), then prunes what is due. Best
// effort: the lists hide what is past its window whatever the schedule
// says, so a failure only keeps the item in Redis longer.
func (m mirror) leaveAt(ctx context.Context, tenantID, propertyID, upstreamID string, t time.Time) {
	pipe := m.rdb.TxPipeline()
	pipe.ZAdd(ctx, m.gone(tenantID, propertyID), redis.Z{Score: ms(t), Member: upstreamID})
	pipe.Expire(ctx, m.gone(tenantID, propertyID), keyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		logging.From(ctx).WarnContext(ctx, "inbox retention not set", "inbox", m.kind, "err", err)
		return
	}
	m.prune(ctx, tenantID, propertyID, pruneBatch)
}

// prune removes up to n items whose time to leave has come: the item, its
// end, its order-index member and its entry-id index. Best effort: what a
// failure leaves is due at the next write, and lists never show an item
// past its window anyway.
func (m mirror) prune(ctx context.Context, tenantID, propertyID string, n int) {
	if err := m.pruneDue(ctx, tenantID, propertyID, n); err != nil {
		logging.From(ctx).WarnContext(ctx, "inbox prune failed", "inbox", m.kind, "propertyId", propertyID, "err", err)
	}
}

func (m mirror) pruneDue(ctx context.Context, tenantID, propertyID string, n int) error {
	now := strconv.FormatInt(m.now().UnixMilli(), 10)
	due, err := m.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: m.gone(tenantID, propertyID), Start: "-inf", Stop: now, ByScore: true, Count: int64(n),
	}).Result()
	if err != nil || len(due) == 0 {
		return err
	}
	raws, err := m.rdb.HMGet(ctx, m.items(tenantID, propertyID), due...).Result()
	if err != nil {
		return err
	}
	pipe := m.rdb.TxPipeline()
	for i, id := range due {
		raw, ok := raws[i].(string)
		if !ok {
			continue // ended before it arrived: only the end and the schedule
		}
		entryID, category, ok := m.describe(tenantID, raw)
		if !ok {
			continue
		}
		pipe.ZRem(ctx, m.order(tenantID, propertyID, category), member(entryID, id))
		pipe.Del(ctx, m.index(tenantID, entryID))
	}
	pipe.HDel(ctx, m.items(tenantID, propertyID), due...)
	pipe.HDel(ctx, m.ends(tenantID, propertyID), due...)
	pipe.ZRem(ctx, m.gone(tenantID, propertyID), anys(due)...)
	_, err = pipe.Exec(ctx)
	return err
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// stored is an indexed item as a page reads it.
type stored struct {
	entryID, upstreamID string
	bucket              string // the order index it was listed from
	raw                 string // "" when pruned since it was indexed
	ended               time.Time
}

// members returns up to n members of the order indexes of buckets, newest
// first, strictly after the entry id after ("" : from the newest). Each
// index gives at most n, so the work is n per bucket read.
func (m mirror) members(ctx context.Context, tenantID, propertyID string, buckets []string, after string, n int) ([]stored, error) {
	start := "+"
	if after != "" {
		start = "(" + after
	}
	pipe := m.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(buckets))
	for i, b := range buckets {
		cmds[i] = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: m.rdb.KeyNames().InboxOrder(m.kind, tenantID, propertyID, b), Start: start, Stop: "-", ByLex: true, Rev: true, Count: int64(n),
		})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("page %s: %w", m.kind, err)
	}
	var out []stored
	for i, c := range cmds {
		for _, v := range c.Val() {
			entryID, upstreamID, ok := strings.Cut(v, " ")
			if ok {
				out = append(out, stored{entryID: entryID, upstreamID: upstreamID, bucket: buckets[i]})
			}
		}
	}
	slices.SortFunc(out, func(a, b stored) int { return strings.Compare(b.entryID, a.entryID) })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// fetch fills in the items and ends of ss, in one round trip.
func (m mirror) fetch(ctx context.Context, tenantID, propertyID string, ss []stored) error {
	if len(ss) == 0 {
		return nil
	}
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.upstreamID
	}
	pipe := m.rdb.Pipeline()
	items := pipe.HMGet(ctx, m.items(tenantID, propertyID), ids...)
	ends := pipe.HMGet(ctx, m.ends(tenantID, propertyID), ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("read %s page: %w", m.kind, err)
	}
	for i := range ss {
		if v, ok := items.Val()[i].(string); ok {
			ss[i].raw = v
		}
		if v, ok := ends.Val()[i].(string); ok {
			ss[i].ended, _ = time.Parse(time.RFC3339Nano, v)
		}
	}
	return nil
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

// loadThrough makes sure the property's mirror has been filled from the
// upstream recently, reading through when it has not: list reads what the
// upstream lists for the property, and put stores it, marked loaded.
// Concurrent fills of a property collapse into one (sf). When the fill
// fails, what the mirror holds is served; with nothing held, its error is
// returned.
func loadThrough[T any](ctx context.Context, m mirror, sf *singleflight.Group, tenantID, propertyID string,
	list func() ([]T, error), put func(ctx context.Context, tenantID, propertyID string, xs []T, loaded bool) error) error {
	pipe := m.rdb.Pipeline()
	marker := pipe.Exists(ctx, m.marker(tenantID, propertyID))
	held := pipe.Exists(ctx, m.items(tenantID, propertyID))
	if _, err := pipe.Exec(ctx); err != nil {
		return apperr.Unavailable(fmt.Errorf("read %s: %w", m.kind, err), "the inbox cache")
	}
	if marker.Val() == 1 {
		return nil
	}
	fill := func() (any, error) {
		xs, err := list()
		if err != nil {
			return nil, err
		}
		return nil, put(ctx, tenantID, propertyID, xs, true)
	}
	if _, err, _ := sf.Do(tenantID+"/"+propertyID, fill); err != nil {
		if held.Val() == 1 {
			logging.From(ctx).WarnContext(ctx, "inbox read-through failed, serving the mirror", "inbox", m.kind, "propertyId", propertyID, "err", err)
			return nil
		}
		return err
	}
	return nil
}

// find returns the mirrored item an entry id names and when it ended
// (zero: it has not). When the index does not know the id (a mirror
// rebuilt since the desktop listed it), the properties of scope are read
// through with load first. ok is false when the item is not found.
func (m mirror) find(ctx context.Context, tenantID, entryID string, scope []string,
	load func(ctx context.Context, tenantID, propertyID string) error) (raw string, ended time.Time, ok bool, err error) {
	propertyID, upstreamID, ok, err := m.resolve(ctx, tenantID, entryID)
	for i := 0; err == nil && !ok && i < len(scope); i++ {
		if err = load(ctx, tenantID, scope[i]); err == nil {
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
