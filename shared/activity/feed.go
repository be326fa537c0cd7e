package activity

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// Feed reads the ledger back: GET /v1/activity.
type Feed struct {
	DB      *pg.DB
	Cursors *listcursor.Codec
}

// FeedQuery is a feed request as the client sent it; empty means not
// given.
type FeedQuery struct {
	OperatorID string
	Category   string
	PropertyID string
	From, To   string // RFC 3339; From inclusive, To exclusive
	Limit      string
	Cursor     string
}

// RowRef is a row's resource, as the domain model names it.
type RowRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// RowError is a failed or partial row's error.
type RowError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Row is an OperatorActivity row as the API shows it.
type Row struct {
	ID          string        `json:"id"`
	TenantID    string        `json:"tenantId"`
	PropertyID  string        `json:"propertyId,omitempty"`
	OperatorID  string        `json:"operatorId"`
	DeviceID    string        `json:"deviceId"`
	SessionID   string        `json:"sessionId,omitempty"`
	OccurredAt  jsontime.Time `json:"occurredAt"`
	Category    Category      `json:"category"`
	Action      string        `json:"action"`
	ResourceRef *RowRef       `json:"resourceRef,omitempty"`
	Outcome     Outcome       `json:"outcome"`
	LatencyMs   int           `json:"latencyMs"`
	Error       *RowError     `json:"error,omitempty"`
	ContextHash string        `json:"contextHash,omitempty"`
}

// FeedPage is one page of the feed, newest first.
type FeedPage = listcursor.Page[Row]

// feedFilter is a checked FeedQuery.
type feedFilter struct {
	operatorID, category, propertyID string
	scope                            []string // without a property filter: the rows' property must be one of these, or none
	from, to                         time.Time
	limit                            int
	after                            *listcursor.Position
}

// List is one page of the ledger for a. Everyone may read their own rows
// (operatorId = a's); another operator's, or every operator's (no
// operatorId), needs access.OthersActivity, else 403 FORBIDDEN_ROLE. The
// property is checked before the role, so a property outside the scope
// answers PROPERTY_OUT_OF_SCOPE whoever asks. Without propertyId the page
// holds rows of the caller's properties and rows of no property (sign-ins),
// never another property's. The note is returned in every case.
func (f *Feed) List(ctx context.Context, a actor.Actor, q FeedQuery) (_ FeedPage, note Note, err error) {
	defer derrors.Wrap(&err, "activity.Feed.List")
	note = Note{Category: CategoryView, Action: ActionActivityViewed}
	flt, b, err := f.check(a, q)
	// Only a checked property goes into the row: a malformed or foreign
	// one is the refusal's subject, not its place (the row then carries
	// the caller's default property).
	note.PropertyID = flt.propertyID
	if err != nil {
		return FeedPage{}, note, err
	}
	rows, next, err := f.page(ctx, a.TenantID, flt)
	if err != nil {
		return FeedPage{}, note, err
	}
	out := FeedPage{Items: rows}
	if out.Items == nil {
		out.Items = []Row{}
	}
	if next != nil {
		out.NextCursor = f.Cursors.Encode(b, *next)
	}
	return out, note, nil
}

// check validates q for a and returns the filter and the cursor binding.
func (f *Feed) check(a actor.Actor, q FeedQuery) (feedFilter, listcursor.Binding, error) {
	var flt feedFilter
	var fields []apperr.FieldError
	bad := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	if q.PropertyID != "" {
		if err := a.CheckProperty("propertyId", q.PropertyID); err != nil {
			return flt, listcursor.Binding{}, err
		}
		flt.propertyID = q.PropertyID
	} else {
		flt.scope = slices.Sorted(slices.Values(a.PropertyScope))
	}
	if q.OperatorID != "" {
		if err := ids.Check(ids.Operator, q.OperatorID); err != nil {
			bad("operatorId", err.Error())
		}
		flt.operatorID = q.OperatorID
	}
	if q.Category != "" {
		if !Category(q.Category).Valid() {
			bad("category", "is not an activity category")
		}
		flt.category = q.Category
	}
	parseTime := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || t.Before(earliest) || !t.Before(latest) {
			bad(field, "must be an RFC 3339 timestamp from 2000 on")
			return time.Time{}
		}
		return t.UTC()
	}
	flt.from, flt.to = parseTime("from", q.From), parseTime("to", q.To)
	if !flt.from.IsZero() && !flt.to.IsZero() && !flt.from.Before(flt.to) {
		bad("to", "must be after from")
	}
	limit, err := listcursor.Limit(q.Limit)
	if err != nil {
		return flt, listcursor.Binding{}, err
	}
	flt.limit = limit
	if len(fields) > 0 {
		return flt, listcursor.Binding{}, apperr.Validation(fields...)
	}
	// Only the caller's own rows need no right; the role is checked after
	// the request is known to be well-formed and in scope.
	if flt.operatorID != a.OperatorID && !access.Has(a.Roles, access.OthersActivity) {
		return flt, listcursor.Binding{}, apperr.New(apperr.ForbiddenRole, "other operators' activity needs one of the roles %s",
			strings.Join(access.Roles(access.OthersActivity), ", "))
	}
	if f.Cursors == nil {
		return flt, listcursor.Binding{}, apperr.New(apperr.Internal, "list cursors are not configured")
	}
	// Every filter is in the binding, the scope too when it stands in for
	// the property: a cursor carried to another filter or a changed scope
	// would otherwise resume a list it was not issued for.
	b := listcursor.Binding{List: "activity", TenantID: a.TenantID, Filters: []string{
		"operatorId", flt.operatorID, "category", flt.category, "propertyId", flt.propertyID,
		"scope", strings.Join(flt.scope, ","), "from", timeKey(flt.from), "to", timeKey(flt.to),
	}}
	if q.Cursor != "" {
		pos, err := f.Cursors.Decode(b, q.Cursor)
		if err != nil {
			return flt, listcursor.Binding{}, err
		}
		if _, err := parseKey(pos.Key); err != nil || ids.Check(ids.Activity, pos.ID) != nil {
			return flt, listcursor.Binding{}, apperr.Validation(apperr.FieldError{Field: "cursor", Message: "is not a cursor of this list"})
		}
		flt.after = &pos
	}
	return flt, b, nil
}

// timeKey is a position's sort key: the instant in Unix microseconds,
// Postgres' own precision, so a position compares exactly.
func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

func parseKey(k string) (time.Time, error) {
	us, err := strconv.ParseInt(k, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us).UTC(), nil
}

// feedSQL is the statement of flt's page and its arguments: only the
// conditions the request uses, so the planner sees the real shape of each
// query (a generic "$n IS NULL OR …" would hide which index fits).
func feedSQL(tenantID string, flt feedFilter) (string, []any) {
	var sb strings.Builder
	args := []any{tenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	sb.WriteString(`SELECT id, tenant_id, property_id, operator_id, device_id, session_id, occurred_at, category, action,
       resource_kind, resource_id, outcome, latency_ms, error_code, error_message, context_hash
  FROM bff.operator_activity
 WHERE tenant_id = $1`)
	if flt.operatorID != "" {
		sb.WriteString("\n   AND operator_id = " + arg(flt.operatorID))
	}
	if flt.category != "" {
		sb.WriteString("\n   AND category = " + arg(flt.category))
	}
	if flt.propertyID != "" {
		sb.WriteString("\n   AND property_id = " + arg(flt.propertyID))
	} else {
		sb.WriteString("\n   AND (property_id IS NULL OR property_id = ANY(" + arg(flt.scope) + "::text[]))")
	}
	if !flt.from.IsZero() {
		sb.WriteString("\n   AND occurred_at >= " + arg(flt.from))
	}
	if !flt.to.IsZero() {
		sb.WriteString("\n   AND occurred_at < " + arg(flt.to))
	}
	if flt.after != nil {
		t, _ := parseKey(flt.after.Key)
		sb.WriteString("\n   AND (occurred_at, id) < (" + arg(t) + ", " + arg(flt.after.ID) + ")")
	}
	sb.WriteString("\n ORDER BY occurred_at DESC, id DESC\n LIMIT " + arg(flt.limit+1))
	return sb.String(), args
}

// page reads flt's page (limit+1 rows: the page and proof of another).
func (f *Feed) page(ctx context.Context, tenantID string, flt feedFilter) ([]Row, *listcursor.Position, error) {
	sql, args := feedSQL(tenantID, flt)
	var out []Row
	err := f.DB.InTenantTx(ctx, tenantID, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out = out[:0]
		for rows.Next() {
			var r Row
			var prop, sess, rk, rid, ec, em, ch *string
			var at time.Time
			if err := rows.Scan(&r.ID, &r.TenantID, &prop, &r.OperatorID, &r.DeviceID, &sess, &at, &r.Category, &r.Action,
				&rk, &rid, &r.Outcome, &r.LatencyMs, &ec, &em, &ch); err != nil {
				rows.Close()
				return err
			}
			r.OccurredAt = jsontime.Time{Time: at.UTC()}
			r.PropertyID, r.SessionID, r.ContextHash = deref(prop), deref(sess), deref(ch)
			if rk != nil && rid != nil {
				r.ResourceRef = &RowRef{Kind: *rk, ID: *rid}
			}
			if ec != nil {
				r.Error = &RowError{Code: *ec, Message: deref(em)}
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, apperr.Unavailable(fmt.Errorf("read the activity ledger: %w", err), "the activity ledger")
	}
	if len(out) <= flt.limit {
		return out, nil, nil
	}
	out = out[:flt.limit]
	last := out[len(out)-1]
	return out, &listcursor.Position{Key: timeKey(last.OccurredAt.Time), ID: last.ID}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
