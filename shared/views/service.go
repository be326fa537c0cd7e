package views

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Each widget has 300 ms, the whole dashboard 800 ms: one slow upstream must
// not make the dashboard slow. Composed answers are cached briefly so that a
// shift refreshing the dashboard does not multiply upstream load.
const (
	WidgetBudget   = 300 * time.Millisecond
	DashboardTotal = 800 * time.Millisecond
	DashboardTTL   = 30 * time.Second
	ViewTTL        = 15 * time.Second
)

// Service serves the dashboard and the workbench views.
type Service struct {
	Composer *compose.Composer
	Sources  *Sources
	Calendar *Calendar
	// SampleRate is the share of requests that emit dashboard.viewed /
	// workbench.opened telemetry (0..1). The domain model emits one per
	// view served (1, the configured default); a lower rate sheds
	// telemetry load only, since every request still gets its activity
	// row.
	SampleRate float64
	// Publisher sends the telemetry events; nil sends none.
	Publisher events.Publisher
	// PublishTimeout bounds the wait for one (DefaultPublishTimeout).
	PublishTimeout time.Duration
	// Widget and Total are the budgets of one widget and of the whole
	// composition (WidgetBudget and DashboardTotal when zero). Deployments
	// keep the defaults; a loaded test machine may widen them.
	Widget, Total time.Duration
}

func (s *Service) budgets() (widget, total time.Duration) {
	widget, total = s.Widget, s.Total
	if widget <= 0 {
		widget = WidgetBudget
	}
	if total <= 0 {
		total = DashboardTotal
	}
	return widget, total
}

// DefaultPublishTimeout is Service.PublishTimeout's default, the gate's.
const DefaultPublishTimeout = 2 * time.Second

// Dashboard is a DashboardSnapshot as the desktop receives it.
type Dashboard struct {
	ID              string                     `json:"id"`
	TenantID        string                     `json:"tenantId"`
	PropertyID      string                     `json:"propertyId"`
	OperatorRole    string                     `json:"operatorRole"`
	ComposedAt      jsontime.Time              `json:"composedAt"`
	CacheKeyVersion int64                      `json:"cacheKeyVersion"`
	Widgets         map[string]json.RawMessage `json:"widgets"`
	Partial         bool                       `json:"partial"`
	Staleness       map[string]string          `json:"staleness"`
}

// View is a WorkbenchView as the desktop receives it.
type View struct {
	ID         string            `json:"id"`
	View       string            `json:"view"`
	PropertyID string            `json:"propertyId"`
	ComposedAt jsontime.Time     `json:"composedAt"`
	Partial    bool              `json:"partial"`
	Staleness  map[string]string `json:"staleness"`
	Items      json.RawMessage   `json:"items"`
}

// Dashboard composes a's dashboard of propertyID (empty: a's default
// property; else it must be in a's scope) from the widgets a's roles may
// see, and returns it rendered as JSON with the request's activity note:
// 403 FORBIDDEN_ROLE when no widget is open to a's roles. A widget whose
// upstream fails is flagged stale or unavailable and the dashboard marked
// partial; only the composition itself failing is an error.
func (s *Service) Dashboard(ctx context.Context, a actor.Actor, propertyID string) (_ []byte, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "views.Service.Dashboard")
	note := activity.Note{Category: activity.CategoryView, Action: activity.ActionDashboardViewed}
	prop, err := a.Property("propertyId", propertyID)
	if err != nil {
		return nil, note, err
	}
	note.PropertyID = prop
	names := DashboardWidgets(a.Roles)
	if len(names) == 0 {
		return nil, note, apperr.New(apperr.ForbiddenRole, "no dashboard widget is open to the session's roles")
	}
	sc := Scope{TenantID: a.TenantID, PropertyID: prop, GuestFree: GuestFree(a.Roles)}
	widget, total := s.budgets()
	req := compose.Request{
		Kind: "dashboard", Prefix: ids.Dashboard, TenantID: sc.TenantID, PropertyID: prop,
		Role: RoleKey(a.Roles), TTL: DashboardTTL, Total: total,
	}
	req.Prepare = func(ctx context.Context) []compose.Widget {
		sc.Date = s.Calendar.Today(ctx, sc.TenantID, prop)
		ws := make([]compose.Widget, 0, len(names))
		for _, n := range names {
			ws = append(ws, compose.Widget{Name: n, Budget: widget, Fetch: s.Sources.DashboardFetch(n, sc)})
		}
		return ws
	}
	snap, err := s.serve(ctx, req, &note, "dashboard")
	if err != nil {
		return nil, note, err
	}
	s.telemetry(ctx, a, events.DashboardViewed, prop, func(op, sess string) any {
		return dashboardViewed{OperatorID: op, OperatorRole: access.Primary(a.Roles), Partial: snap.Partial,
			SessionID: sess, SnapshotID: snap.ID, Widgets: len(snap.Widgets)}
	})
	// Everything in the answer comes from the snapshot and its cache key
	// (the role set is part of it, and operatorRole is a function of the
	// set), so it is rendered once per snapshot per instance.
	b, err := rendered(snap, func() any {
		return Dashboard{
			ID: snap.ID, TenantID: snap.TenantID, PropertyID: snap.PropertyID, OperatorRole: access.Primary(a.Roles),
			ComposedAt: snap.ComposedAt, CacheKeyVersion: snap.CacheKeyVersion, Widgets: snap.Widgets,
			Partial: snap.Partial, Staleness: snap.Staleness,
		}
	})
	return b, note, err
}

// Ahead returns ctx carrying the cache lookup of the dashboard (kind
// "dashboard") or view kind that guess would be served — guess is the actor
// as this instance last saw the device's session — and that lookup, to be
// sent with the session's resolve (compose.Ahead). Dashboard and View use
// it only if the request, once resolved and checked, wants the same key.
// Nothing goes ahead for a guess whose scope lacks the property.
func (s *Service) Ahead(ctx context.Context, guess actor.Actor, kind, propertyID string) (context.Context, redisx.Rider) {
	prop, err := guess.Property("propertyId", propertyID)
	if err != nil || len(guess.Roles) == 0 {
		return ctx, nil
	}
	a := s.Composer.Ahead(compose.Request{Kind: kind, TenantID: guess.TenantID, PropertyID: prop, Role: RoleKey(guess.Roles)})
	return compose.WithAhead(ctx, a), a
}

// View composes workbench view kind of propertyID (empty: a's default
// property; else it must be in a's scope) and returns it rendered as JSON
// with the request's activity note: 403 FORBIDDEN_ROLE unless a holds one
// of the view's roles. An upstream failure leaves the view partial, its
// items empty of the right shape.
func (s *Service) View(ctx context.Context, a actor.Actor, kind, propertyID string) (_ []byte, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "views.Service.View(%s)", kind)
	note := activity.Note{Category: activity.CategoryView, Action: activity.WorkbenchOpened(kind)}
	prop, err := a.Property("propertyId", propertyID)
	if err != nil {
		return nil, note, err
	}
	note.PropertyID = prop
	if err := a.RequireRole(ViewRoles(kind)...); err != nil {
		return nil, note, err
	}
	sc := Scope{TenantID: a.TenantID, PropertyID: prop, GuestFree: GuestFree(a.Roles)}
	// The role key is in the cache key: rows are redacted per role set
	// (today's are guest-free for roles without guest data).
	_, total := s.budgets()
	req := compose.Request{
		Kind: kind, Prefix: ids.WorkbenchView, TenantID: sc.TenantID, PropertyID: prop,
		Role: RoleKey(a.Roles), TTL: ViewTTL, Total: total,
	}
	req.Prepare = func(ctx context.Context) []compose.Widget {
		sc.Date = s.Calendar.Today(ctx, sc.TenantID, prop)
		return []compose.Widget{{Name: "items", Budget: total - total/8, Fetch: s.Sources.ViewFetch(kind, sc)}}
	}
	snap, err := s.serve(ctx, req, &note, "workbench_view")
	if err != nil {
		return nil, note, err
	}
	s.telemetry(ctx, a, events.WorkbenchOpened, prop, func(op, sess string) any {
		return workbenchOpened{OperatorID: op, Partial: snap.Partial, SessionID: sess, View: kind, ViewID: snap.ID}
	})
	b, err := rendered(snap, func() any {
		items := snap.Widgets["items"]
		if len(items) == 0 || string(items) == "null" {
			items = json.RawMessage(emptyItems(kind))
		}
		return View{
			ID: snap.ID, View: kind, PropertyID: prop, ComposedAt: snap.ComposedAt,
			Partial: snap.Partial, Staleness: snap.Staleness, Items: items,
		}
	})
	return b, note, err
}

// serve gets req's snapshot from the composer and completes note with
// it: the snapshot is the request's resource (of kind resourceKind), and
// its parts that were not fresh are what the activity row calls partial.
func (s *Service) serve(ctx context.Context, req compose.Request, note *activity.Note, resourceKind string) (*compose.Snapshot, error) {
	snap, _, err := s.Composer.Get(ctx, req)
	if err != nil {
		return nil, err
	}
	note.Resource = &activity.Ref{Kind: resourceKind, ID: snap.ID}
	note.Partial = partial(snap)
	return snap, nil
}

// partial lists the parts of a partial snapshot that were not fresh
// ("revenue=unavailable"), sorted, for the activity row; nil when the
// snapshot is whole.
func partial(snap *compose.Snapshot) []string {
	if !snap.Partial {
		return nil
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(snap.Staleness)) {
		if st := snap.Staleness[name]; st != compose.Fresh {
			out = append(out, name+"="+st)
		}
	}
	return out
}

// rendered is body() encoded once per snapshot (compose.Snapshot.Memo) the
// way httpx.WriteJSON encodes, so the bytes are the same either way.
func rendered(snap *compose.Snapshot, body func() any) ([]byte, error) {
	type encoded struct {
		b   []byte
		err error
	}
	e := snap.Memo(func() any {
		var buf bytes.Buffer
		err := json.NewEncoder(&buf).Encode(body())
		return encoded{buf.Bytes(), err}
	}).(encoded)
	if e.err != nil {
		return nil, apperr.Wrap(apperr.Internal, fmt.Errorf("render: %w", e.err), "an internal error occurred")
	}
	return e.b, nil
}

// emptyItems is what an unavailable view shows: every view's items are
// an array, empty and flagged by partial/staleness.
func emptyItems(string) string { return "[]" }

// The view events' data, as structs rather than maps: one is encoded per
// view served, and a struct encodes several times faster than a map (no
// key sorting, no per-entry reflection). Fields are in alphabetical order,
// as the maps' keys were encoded.
type dashboardViewed struct {
	OperatorID   string `json:"operatorId"`
	OperatorRole string `json:"operatorRole"`
	Partial      bool   `json:"partial"`
	SessionID    string `json:"sessionId"`
	SnapshotID   string `json:"snapshotId"`
	Widgets      int    `json:"widgets"`
}

type workbenchOpened struct {
	OperatorID string `json:"operatorId"`
	Partial    bool   `json:"partial"`
	SessionID  string `json:"sessionId"`
	View       string `json:"view"`
	ViewID     string `json:"viewId"`
}

// telemetry publishes a view event, never failing the request for it: the
// activity row is the record, the event only telemetry. An events.Enqueuer
// takes it without waiting (flushed at the latest when the instance
// drains); any other publisher is waited for at most PublishTimeout.
func (s *Service) telemetry(ctx context.Context, a actor.Actor, subject, prop string, data func(operatorID, sessionID string) any) {
	if s.Publisher == nil || s.SampleRate <= 0 || (s.SampleRate < 1 && rand.Float64() >= s.SampleRate) {
		return
	}
	log := logging.From(ctx)
	ev, err := events.New(subject, a.TenantID, prop, data(a.OperatorID, a.SessionID))
	if err != nil {
		log.ErrorContext(ctx, "build event", "err", err)
		return
	}
	// One event per view served: waiting for Pub/Sub on each would cost
	// the hot path a round trip, for telemetry whose loss in a crash is
	// acceptable. A publisher that can batch without waiting takes it.
	if q, ok := s.Publisher.(events.Enqueuer); ok {
		q.Enqueue(ctx, ev)
		return
	}
	timeout := s.PublishTimeout
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := s.Publisher.Publish(pctx, ev); err != nil {
		log.WarnContext(ctx, "publish telemetry event", "subject", ev.Subject, "err", err)
	}
}
