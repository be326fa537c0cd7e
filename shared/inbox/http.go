package inbox

import (
	"context"
	"net/http"
	"strings"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
)

// status reads ?status= (default open) among allowed.
func status(c *gate.Call, allowed ...string) (string, error) {
	v := c.Request.URL.Query().Get("status")
	if v == "" {
		return StatusOpen, nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", apperr.Validation(apperr.FieldError{Field: "status", Message: "must be one of " + strings.Join(allowed, ", ")})
}

// property resolves the request's property and notes the view.
func property(c *gate.Call, action string) (string, error) {
	c.Note = gate.Note{Category: activity.CategoryView, Action: action}
	p, err := c.Property()
	if err != nil {
		return "", err
	}
	c.Note.PropertyID = p
	return p, nil
}

// ListHandler is GET /v1/ai/suggestions.
func (s *Suggestions) ListHandler() gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		p, err := property(c, "ai_inbox.viewed")
		if err != nil {
			return gate.Result{}, err
		}
		st, err := status(c, StatusOpen, StatusDecided, StatusAll)
		if err != nil {
			return gate.Result{}, err
		}
		items, err := s.List(ctx, c.Principal.TenantID, p, st)
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusOK, Body: SuggestionList{PropertyID: p, Status: st, Items: items}}, nil
	}
}

// DecideHandler is POST /v1/ai/suggestions/{aimId}/decision; it expects
// the idempotency layer around it.
func (s *Suggestions) DecideHandler() gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		var req DecisionRequest
		if err := httpx.DecodeJSON(nil, c.Request, &req); err != nil {
			c.Note = gate.Note{Category: activity.CategoryAIDecision, Action: "ai_suggestion.decide"}
			return gate.Result{}, err
		}
		e, err := s.Decide(ctx, c, c.Request.PathValue("aimId"), req)
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusCreated, Body: e}, nil
	}
}

// ListHandler is GET /v1/alerts.
func (a *Alerts) ListHandler() gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		p, err := property(c, "alert_inbox.viewed")
		if err != nil {
			return gate.Result{}, err
		}
		st, err := status(c, StatusOpen, StatusAcknowledged, StatusResolved, StatusAll)
		if err != nil {
			return gate.Result{}, err
		}
		items, err := a.List(ctx, c.Principal.TenantID, p, c.Principal.OperatorID, st)
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusOK, Body: AlertList{PropertyID: p, Status: st, Items: items}}, nil
	}
}

// AckHandler is POST /v1/alerts/{aliId}/ack; the body is empty or {}. It
// expects the idempotency layer around it.
func (a *Alerts) AckHandler() gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		if c.Request.ContentLength != 0 {
			var empty struct{}
			if err := httpx.DecodeJSON(nil, c.Request, &empty); err != nil {
				c.Note = gate.Note{Category: activity.CategoryAlertAck, Action: "alert.acknowledge"}
				return gate.Result{}, err
			}
		}
		e, err := a.Ack(ctx, c, c.Request.PathValue("aliId"))
		if err != nil {
			return gate.Result{}, err
		}
		return gate.Result{Status: http.StatusCreated, Body: e}, nil
	}
}

// Mux is the whole HTTP surface of an inbox function: its routes
// ("GET /v1/alerts" → handler), /health, 405 with Allow on its paths, and
// problem+json for everything else.
func Mux(g *gate.Gate, routes map[string]gate.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", httpx.Health)
	methods := map[string][]string{}
	for route, h := range routes {
		mux.Handle(route, g.Handle(h))
		method, path, _ := strings.Cut(route, " ")
		methods[path] = append(methods[path], method)
	}
	for path, ms := range methods {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { httpx.Methods(w, r, ms...) })
	}
	mux.HandleFunc("/", httpx.NotFound)
	return mux
}
