// Package sessionfn is the `session` function: GET, PATCH and DELETE
// /v1/session — read the caller's BackofficeSession, set its primary
// property or locale, or sign out.
package sessionfn

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `session` function as deployed.
var Function = boot.Function{Name: "session", EntryPoint: "Session", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	return New(b.Gate)
})}

func init() { Function.Register() }

// New returns the function's handler over a ready gate.
func New(g *gate.Gate) http.Handler {
	h := &handler{g: g}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", httpx.Health)
	mux.Handle("GET /v1/session", g.Handle(h.get))
	mux.Handle("PATCH /v1/session", g.Handle(h.patch))
	mux.Handle("DELETE /v1/session", g.Handle(h.delete))
	mux.HandleFunc("/v1/session", func(w http.ResponseWriter, r *http.Request) {
		httpx.Methods(w, r, http.MethodGet, http.MethodPatch, http.MethodDelete)
	})
	mux.HandleFunc("/", httpx.NotFound)
	return mux
}

type handler struct{ g *gate.Gate }

// view is the session as the desktop sees it: no PII hashes.
type view struct {
	ID                string   `json:"id"`
	TenantID          string   `json:"tenantId"`
	OperatorID        string   `json:"operatorId"`
	DeviceID          string   `json:"deviceId"`
	PropertyScope     []string `json:"propertyScope"`
	PrimaryPropertyID *string  `json:"primaryPropertyId"`
	Roles             []string `json:"roles"`
	Locale            string   `json:"locale"`
	ThemeVersion      string   `json:"themeVersion"`
	AppVersion        *string  `json:"appVersion"`
	AppPlatform       *string  `json:"appPlatform"`
	NetworkProfile    string   `json:"networkProfile"`
	State             string   `json:"state"`
	OpenedAt          any      `json:"openedAt"`
	LastActivityAt    any      `json:"lastActivityAt"`
	TTLExpiresAt      any      `json:"ttlExpiresAt"`
}

func viewOf(s *session.Session) view {
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	return view{
		ID: s.ID, TenantID: s.TenantID, OperatorID: s.OperatorID, DeviceID: s.DeviceID,
		PropertyScope: s.PropertyScope, PrimaryPropertyID: opt(s.PrimaryPropertyID), Roles: s.Roles,
		Locale: s.Locale, ThemeVersion: s.ThemeVersion, AppVersion: opt(s.AppVersion), AppPlatform: opt(s.AppPlatform),
		NetworkProfile: s.NetworkProfile, State: string(s.State),
		OpenedAt: s.OpenedAt, LastActivityAt: s.LastActivityAt, TTLExpiresAt: s.TTLExpiresAt,
	}
}

func (h *handler) get(ctx context.Context, c *gate.Call) (gate.Result, error) {
	c.Note = activity.Note{Category: activity.CategoryView, Action: activity.ActionSessionViewed, Resource: &activity.Ref{Kind: "session", ID: c.Session.ID}}
	return gate.Result{Status: http.StatusOK, Body: viewOf(c.Session)}, nil
}

// patchBody distinguishes an absent primaryPropertyId (leave it) from null
// (clear it), hence the raw message.
type patchBody struct {
	PrimaryPropertyID json.RawMessage `json:"primaryPropertyId"`
	Locale            *string         `json:"locale"`
}

func (h *handler) patch(ctx context.Context, c *gate.Call) (gate.Result, error) {
	c.Note = activity.Note{Category: activity.CategoryPreferencesChanged, Action: activity.ActionSessionUpdated, Resource: &activity.Ref{Kind: "session", ID: c.Session.ID}}
	var b patchBody
	if err := httpx.DecodeJSON(nopWriter{}, c.Request, &b); err != nil {
		return gate.Result{}, err
	}
	var (
		pt  session.Patch
		bad []apperr.FieldError
	)
	if len(b.PrimaryPropertyID) > 0 {
		if string(b.PrimaryPropertyID) == "null" {
			empty := ""
			pt.PrimaryPropertyID = &empty
		} else {
			var id string
			if err := json.Unmarshal(b.PrimaryPropertyID, &id); err != nil {
				bad = append(bad, apperr.FieldError{Field: "primaryPropertyId", Message: "must be a property id or null"})
			} else if err := ids.Check(ids.Property, id); err != nil {
				bad = append(bad, apperr.FieldError{Field: "primaryPropertyId", Message: err.Error()})
			} else {
				pt.PrimaryPropertyID = &id
			}
		}
	}
	if b.Locale != nil {
		if !session.ValidLocale(*b.Locale) {
			bad = append(bad, apperr.FieldError{Field: "locale", Message: "must be a BCP 47 tag such as en-US"})
		} else {
			pt.Locale = b.Locale
		}
	}
	if len(bad) > 0 {
		return gate.Result{}, apperr.Validation(bad...)
	}
	if pt.PrimaryPropertyID != nil && *pt.PrimaryPropertyID != "" {
		if err := c.CheckProperty("primaryPropertyId", *pt.PrimaryPropertyID); err != nil {
			return gate.Result{}, err
		}
	}
	s, err := h.g.Sessions.Update(ctx, c.Session, pt)
	if err != nil {
		return gate.Result{}, err
	}
	return gate.Result{Status: http.StatusOK, Body: viewOf(s)}, nil
}

func (h *handler) delete(ctx context.Context, c *gate.Call) (gate.Result, error) {
	c.Note = activity.Note{Category: activity.CategoryAuth, Action: activity.ActionSessionSignedOut, Resource: &activity.Ref{Kind: "session", ID: c.Session.ID}}
	// The row states the outcome, so it is written once Close has run: a
	// sign-out that failed is recorded as failed (by the gate, from the
	// error), never as done.
	s, err := h.g.Sessions.Close(ctx, c.Session, c.Principal.IssuedAt)
	if err != nil {
		return gate.Result{}, err
	}
	if err := c.RecordOutcome(ctx, nil); err != nil {
		return gate.Result{}, err
	}
	ev, err := session.ClosedEvent(s)
	c.Publish(ctx, ev, err)
	return gate.Result{Status: http.StatusNoContent}, nil
}

// nopWriter satisfies http.MaxBytesReader, which only uses the writer to
// ask the server to close the connection after an oversized body.
type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}
