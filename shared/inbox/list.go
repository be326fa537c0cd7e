package inbox

import (
	"context"
	"slices"
	"strings"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
)

// checkStatus reads a requested status (empty: open) among allowed.
func checkStatus(v string, allowed ...string) (string, error) {
	if v == "" {
		return StatusOpen, nil
	}
	if slices.Contains(allowed, v) {
		return v, nil
	}
	return "", apperr.Validation(apperr.FieldError{Field: "status", Message: "must be one of " + strings.Join(allowed, ", ")})
}

// Query is a list request as the client sent it: the property (empty: the
// operator's default), the status (empty: open), the page size (empty:
// listcursor.DefaultLimit) and the cursor of the page (empty: the first).
type Query struct {
	PropertyID string
	Status     string
	Limit      string
	Cursor     string
}

// List is one page of an inbox: the property, the status asked for, the
// entries (newest first) and, unless this is the last page, the cursor of
// the next one. A page may hold fewer entries than the limit when the
// entries it skipped (other statuses) used up its work bound; only an
// absent NextCursor means the end.
type List[E any] struct {
	PropertyID string `json:"propertyId"`
	Status     string `json:"status"`
	Items      []E    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// pageReq is a checked list request.
type pageReq struct {
	propertyID, status string
	limit              int
	after              string   // entry id the page starts after ("": the newest)
	buckets            []string // the order indexes the caller may see
}

// read is an inbox list read by a: the property (q's, else a's default;
// it must be in a's scope), the status among allowed (empty: open), the
// limit, and the cursor, which must have been issued for the same list,
// tenant, property, status, operator and role set. buckets are the order
// indexes a's roles may see; list reads the page. The read's activity note
// is returned in every case.
func read[E any](a actor.Actor, cursors *listcursor.Codec, action, name string, q Query, allowed []string,
	buckets []string, list func(r pageReq) ([]E, string, error)) (List[E], activity.Note, error) {
	note := activity.Note{Category: activity.CategoryView, Action: action}
	p, err := a.Property("propertyId", q.PropertyID)
	if err != nil {
		return List[E]{}, note, err
	}
	note.PropertyID = p
	st, err := checkStatus(q.Status, allowed...)
	if err != nil {
		return List[E]{}, note, err
	}
	limit, err := listcursor.Limit(q.Limit)
	if err != nil {
		return List[E]{}, note, err
	}
	if cursors == nil {
		return List[E]{}, note, apperr.New(apperr.Internal, "list cursors are not configured")
	}
	roles := slices.Clone(a.Roles)
	slices.Sort(roles)
	// The operator is in the binding because what a page holds depends on
	// whose acknowledgements it shows; the role set because it decides
	// which categories the page may hold.
	b := listcursor.Binding{List: name, TenantID: a.TenantID, Filters: []string{
		"propertyId", p, "status", st, "operatorId", a.OperatorID, "roles", strings.Join(roles, ","),
	}}
	r := pageReq{propertyID: p, status: st, limit: limit, buckets: buckets}
	if q.Cursor != "" {
		pos, err := cursors.Decode(b, q.Cursor)
		if err != nil {
			return List[E]{}, note, err
		}
		r.after = pos.ID
	}
	items, next, err := list(r)
	if err != nil {
		return List[E]{}, note, err
	}
	out := List[E]{PropertyID: p, Status: st, Items: items}
	if out.Items == nil {
		out.Items = []E{}
	}
	if next != "" {
		out.NextCursor = cursors.Encode(b, listcursor.Position{ID: next})
	}
	return out, note, nil
}

// budget is how many index members one page may examine: the page and
// its look-ahead several times over, within fixed bounds, so a page whose
// status filter skips most entries still ends after bounded work (and
// hands back a cursor to go on from).
func budget(limit int) int { return min(max(4*(limit+1), 200), 800) }

// walk reads one page of the mirror m of a property: the members of the
// order indexes of r's buckets after r.after, newest first, in batches;
// accept turns a batch (items fetched) into the entries to show, in
// order, each with its entry id. It stops once r.limit+1 entries are
// accepted (the page, and proof there is another), the indexes end (no
// next cursor), or the budget of examined members is spent (the next
// cursor is the last member examined).
func walk[E any](ctx context.Context, m mirror, tenantID string, r pageReq,
	accept func([]stored) ([]E, error), idOf func(E) string) ([]E, string, error) {
	if len(r.buckets) == 0 {
		return nil, "", nil
	}
	var out []E
	pos, examined, limit := r.after, 0, budget(r.limit)
	for {
		n := min(max(2*(r.limit+1-len(out)), 50), limit-examined)
		batch, err := m.members(ctx, tenantID, r.propertyID, r.buckets, pos, n)
		if err != nil {
			return nil, "", apperr.Unavailable(err, "the inbox cache")
		}
		if len(batch) == 0 {
			return out, "", nil
		}
		examined += len(batch)
		if err := m.fetch(ctx, tenantID, r.propertyID, batch); err != nil {
			return nil, "", apperr.Unavailable(err, "the inbox cache")
		}
		got, err := accept(batch)
		if err != nil {
			return nil, "", err
		}
		for _, e := range got {
			out = append(out, e)
			if len(out) > r.limit {
				return out[:r.limit], idOf(out[r.limit-1]), nil
			}
		}
		switch {
		case len(batch) < n:
			return out, "", nil
		case examined >= limit:
			return out, batch[len(batch)-1].entryID, nil
		}
		pos = batch[len(batch)-1].entryID
	}
}

// Inbox is one page of a's AI inbox (q: property, status open, decided or
// all, limit, cursor), holding only the categories a's roles may see.
func (s *Suggestions) Inbox(ctx context.Context, a actor.Actor, q Query) (_ SuggestionList, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Suggestions.Inbox")
	return read(a, s.d.Cursors, activity.ActionAIInboxViewed, "ai-suggestions", q, []string{StatusOpen, StatusDecided, StatusAll},
		suggestionKind.visible(a.Roles),
		func(r pageReq) ([]SuggestionEntry, string, error) { return s.page(ctx, a, r) })
}

// Inbox is one page of a's alert inbox (q: property, status open,
// acknowledged, resolved or all, limit, cursor), acknowledgements as a's,
// holding only the categories a's roles may see.
func (al *Alerts) Inbox(ctx context.Context, a actor.Actor, q Query) (_ AlertList, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.Inbox")
	return read(a, al.d.Cursors, activity.ActionAlertInboxViewed, "alerts", q, []string{StatusOpen, StatusAcknowledged, StatusResolved, StatusAll},
		alertKind.visible(a.Roles),
		func(r pageReq) ([]AlertEntry, string, error) { return al.page(ctx, a, r) })
}
