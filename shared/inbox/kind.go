package inbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// itemKind is what the machinery both inboxes share knows of one
// upstream's items (T): its categories and their order indexes, what
// seeing an item takes, and an item's entry id.
type itemKind[T any] struct {
	name string // names the inbox in logs: "ai", "alert"
	// categories are the categories of the upstream's model, each with
	// its own order index.
	categories []string
	// known reports whether the model knows a category; other is its
	// catch-all category.
	known func(category string) bool
	other string
	// rights are what seeing an item of a category takes.
	rights func(category string) []access.Right
	// describe gives an item's entry id and category.
	describe func(tenantID string, v T) (entryID, category string)
}

// bucket is the order index of a category: its own, or the catch-all
// category's for one the model does not know (both need the same rights).
func (k itemKind[T]) bucket(category string) string {
	if k.known(category) {
		return category
	}
	return k.other
}

// decode reads a mirrored upstream item; one that does not decode is
// treated as absent (and logged, naming the inbox), never shown
// half-read.
func (k itemKind[T]) decode(ctx context.Context, raw string) (T, bool) {
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		logging.From(ctx).ErrorContext(ctx, k.name+" inbox entry unreadable", "err", err)
		return v, false
	}
	return v, true
}

// mirror is the Redis mirror of these items, under the key prefix key.
func (k itemKind[T]) mirror(rdb *redisx.Client, key string, now func() time.Time) mirror {
	return mirror{rdb: rdb, kind: key, loaded: 5 * time.Minute, bucket: k.bucket, now: now,
		describe: func(tenantID, raw string) (string, string, bool) {
			v, ok := k.decode(context.Background(), raw)
			entryID, category := k.describe(tenantID, v)
			return entryID, category, ok
		}}
}

// listable reports whether the item of entryID and category, read from
// st, belongs on a page of roles: it must be the item the index member
// names (a copy re-sent under another category or time is listed from its
// own member only), and the roles must see its category.
func (k itemKind[T]) listable(st stored, entryID, category string, roles []string) bool {
	return entryID == st.entryID && k.bucket(category) == st.bucket && access.Has(roles, k.rights(category)...)
}

// listed decodes the items of batch that belong on a page of roles (see
// listable), in order, and makes each its entry with show, which passes
// over (false) what the inbox does not show; it returns the entries and
// their upstream ids, for reading the rows that settle their status.
func listed[T, E any](ctx context.Context, k itemKind[T], tenantID string, batch []stored, roles []string,
	show func(st stored, v T) (E, bool)) (entries []E, upstreamIDs []string) {
	for _, st := range batch {
		if st.raw == "" {
			continue
		}
		v, ok := k.decode(ctx, st.raw)
		if !ok {
			continue
		}
		if entryID, category := k.describe(tenantID, v); !k.listable(st, entryID, category, roles) {
			continue
		}
		if e, ok := show(st, v); ok {
			entries = append(entries, e)
			upstreamIDs = append(upstreamIDs, st.upstreamID)
		}
	}
	return entries, upstreamIDs
}

// find returns the item entryID names in m (read through with load for
// the properties of scope when the index does not know it) and when it
// ended (zero: it has not); ok is false when there is no such item, or
// the one stored does not decode to entryID.
func (k itemKind[T]) find(ctx context.Context, m mirror, tenantID, entryID string, scope []string,
	load func(ctx context.Context, tenantID, propertyID string) error) (v T, ended time.Time, ok bool, err error) {
	raw, ended, ok, err := m.find(ctx, tenantID, entryID, scope, load)
	if err != nil || !ok {
		return v, time.Time{}, false, err
	}
	if v, ok = k.decode(ctx, raw); !ok {
		return v, time.Time{}, false, nil
	}
	if id, _ := k.describe(tenantID, v); id != entryID {
		return v, time.Time{}, false, nil
	}
	return v, ended, true, nil
}

// authorize checks that a may act on an item of propertyID and category:
// the property in a's scope, then the rights that seeing the category
// takes, in that order so a refusal tells nothing of a property a may not
// see. note names the property first, so a refusal's activity row names
// it too.
func (k itemKind[T]) authorize(a actor.Actor, note *activity.Note, propertyID, category string) error {
	note.PropertyID = propertyID
	if err := a.CheckProperty("propertyId", propertyID); err != nil {
		return err
	}
	return access.Require(a.Roles, k.rights(category)...)
}

// visible returns the order indexes of the categories roles may see.
func (k itemKind[T]) visible(roles []string) []string {
	var out []string
	for _, c := range k.categories {
		if access.Has(roles, k.rights(c)...) {
			out = append(out, c)
		}
	}
	return out
}
