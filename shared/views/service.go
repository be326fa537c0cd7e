package views

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// Budgets and lifetimes of SPEC §5.
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
	// workbench.opened telemetry (0..1). Every request still gets its
	// activity row; the events are sampled telemetry (domain model §14).
	SampleRate float64
}

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

// DashboardHandler serves GET /v1/dashboard.
func (s *Service) DashboardHandler() gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		c.Note = gate.Note{Category: activity.CategoryView, Action: "dashboard.viewed"}
		prop, err := c.Property()
		if err != nil {
			return gate.Result{}, err
		}
		c.Note.PropertyID = prop
		roles := c.Session.Roles
		names := DashboardWidgets(roles)
		if len(names) == 0 {
			return gate.Result{}, apperr.New(apperr.ForbiddenRole, "no dashboard widget is open to the session's roles")
		}
		sc := Scope{TenantID: c.Principal.TenantID, PropertyID: prop}
		req := compose.Request{
			Kind: "dashboard", Prefix: ids.Dashboard, TenantID: sc.TenantID, PropertyID: prop,
			Role: RoleKey(roles), TTL: DashboardTTL, Total: DashboardTotal,
		}
		req.Prepare = func(ctx context.Context) []compose.Widget {
			sc.Date = s.Calendar.Today(ctx, sc.TenantID, prop)
			ws := make([]compose.Widget, 0, len(names))
			for _, n := range names {
				ws = append(ws, compose.Widget{Name: n, Budget: WidgetBudget, Fetch: s.Sources.DashboardFetch(n, sc)})
			}
			return ws
		}
		snap, _, err := s.Composer.Get(ctx, req)
		if err != nil {
			return gate.Result{}, err
		}
		c.Note.Resource = &activity.Ref{Kind: "dashboard", ID: snap.ID}
		s.telemetry(ctx, c, events.DashboardViewed, prop, map[string]any{
			"snapshotId": snap.ID, "operatorRole": req.Role, "partial": snap.Partial, "widgets": len(snap.Widgets),
		})
		// Everything in the answer comes from the snapshot and its cache
		// key (the role key is part of it), so it is rendered once per
		// snapshot per instance.
		return rendered(snap, func() any {
			return Dashboard{
				ID: snap.ID, TenantID: snap.TenantID, PropertyID: snap.PropertyID, OperatorRole: req.Role,
				ComposedAt: snap.ComposedAt, CacheKeyVersion: snap.CacheKeyVersion, Widgets: snap.Widgets,
				Partial: snap.Partial, Staleness: snap.Staleness,
			}
		})
	}
}

// ViewHandler serves one workbench view.
func (s *Service) ViewHandler(kind string) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		c.Note = gate.Note{Category: activity.CategoryView, Action: "workbench." + kind + ".opened"}
		prop, err := c.Property()
		if err != nil {
			return gate.Result{}, err
		}
		c.Note.PropertyID = prop
		if err := c.RequireRole(ViewRoles(kind)...); err != nil {
			return gate.Result{}, err
		}
		sc := Scope{TenantID: c.Principal.TenantID, PropertyID: prop}
		// Views carry no per-role widgets, but the role key stays in the
		// cache key so a later per-role redaction cannot leak through it.
		req := compose.Request{
			Kind: kind, Prefix: ids.WorkbenchView, TenantID: sc.TenantID, PropertyID: prop,
			Role: RoleKey(c.Session.Roles), TTL: ViewTTL, Total: DashboardTotal,
		}
		req.Prepare = func(ctx context.Context) []compose.Widget {
			sc.Date = s.Calendar.Today(ctx, sc.TenantID, prop)
			return []compose.Widget{{Name: "items", Budget: DashboardTotal - 100*time.Millisecond, Fetch: s.Sources.ViewFetch(kind, sc)}}
		}
		snap, _, err := s.Composer.Get(ctx, req)
		if err != nil {
			return gate.Result{}, err
		}
		c.Note.Resource = &activity.Ref{Kind: "workbench_view", ID: snap.ID}
		s.telemetry(ctx, c, events.WorkbenchOpened, prop, map[string]any{"viewId": snap.ID, "view": kind, "partial": snap.Partial})
		return rendered(snap, func() any {
			items := snap.Widgets["items"]
			if len(items) == 0 || string(items) == "null" {
				items = json.RawMessage(emptyItems(kind))
			}
			return View{
				ID: snap.ID, View: kind, PropertyID: prop, ComposedAt: snap.ComposedAt,
				Partial: snap.Partial, Staleness: snap.Staleness, Items: items,
			}
		})
	}
}

// rendered answers with body(), encoded once per snapshot (compose.Snapshot.Memo)
// the way httpx.WriteJSON encodes, so the bytes are the same either way.
func rendered(snap *compose.Snapshot, body func() any) (gate.Result, error) {
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
		return gate.Result{}, apperr.Wrap(apperr.Internal, e.err, "an internal error occurred")
	}
	return gate.Result{Status: http.StatusOK, Raw: e.b}, nil
}

// emptyItems is what an unavailable view shows: the right JSON shape with
// nothing in it, flagged by partial/staleness.
func emptyItems(kind string) string {
	if slices.Contains([]string{VArrivals, VDepartures, VInHouse, VToday}, kind) {
		return "[]"
	}
	return "null"
}

func (s *Service) telemetry(ctx context.Context, c *gate.Call, subject, prop string, data map[string]any) {
	if s.SampleRate <= 0 || (s.SampleRate < 1 && rand.Float64() >= s.SampleRate) {
		return
	}
	data["operatorId"], data["sessionId"] = c.Principal.OperatorID, c.Session.ID
	ev, err := events.New(subject, c.Principal.TenantID, prop, data)
	c.Publish(ctx, ev, err)
}
