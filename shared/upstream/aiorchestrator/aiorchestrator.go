// Package aiorchestrator is the client of ai-orchestrator-service: the AI
// suggestions of a property (docs/UPSTREAMS.md; the suggestion rules are in
// docs/DOMAIN.md).
//
// Errors of every method: VALIDATION_FAILED for malformed ids or filters
// (checked before any call); an error matching ErrNotFound when the
// service knows neither the tenant nor the property; UPSTREAM_UNAVAILABLE
// for timeouts (the earlier of ctx's deadline and Config.Timeout),
// connection failures, 5xx, 429 and answers that cannot be used; INTERNAL
// for other statuses.
//
// What is cleaned from answers (see shared/upstream/wire):
//   - a suggestion with a malformed id, another property's id, no usable
//     createdAt/expiresAt (or one expiring before it was created) or no
//     title is dropped;
//   - an unknown category becomes "other", an unknown severity "attention"
//     (shown, neither ignored nor escalated);
//   - a proposal that is not a JSON object (or over 16 KiB) is cleared;
//   - a provenance with a missing field or an unknown modelClass is
//     cleared. Suggestions without provenance are returned — the inbox
//     mirror needs to know they exist — but must never be shown: use
//     Suggestion.Displayable or Displayable.
//
// A summary with a negative count is refused as UPSTREAM_UNAVAILABLE.
package aiorchestrator

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = upstream.AIOrchestratorService

// Config is the ai-orchestrator-service part of a function's configuration; its
// variables are listed with every upstream's in shared/upstream.
type Config = upstream.AIOrchestratorConfig

// ErrNotFound is matched (errors.Is) by the *httpc.NotFoundError of an
// unknown tenant, property or suggestion.
var ErrNotFound = httpc.ErrNotFound

// Category is what a suggestion is about.
type Category string

// Categories.
const (
	CategoryOverbookingWarning   Category = "overbooking_warning"
	CategoryRateChange           Category = "rate_change"
	CategoryHousekeepingReorder  Category = "housekeeping_reorder"
	CategoryMaintenancePriority  Category = "maintenance_priority"
	CategoryGuestSpecialHandling Category = "guest_special_handling"
	CategoryStaffing             Category = "staffing"
	CategoryAuditAnomaly         Category = "audit_anomaly"
	CategoryOther                Category = "other"
)

// Valid reports whether c is a category this client knows.
func (c Category) Valid() bool {
	return slices.Contains([]Category{CategoryOverbookingWarning, CategoryRateChange, CategoryHousekeepingReorder, CategoryMaintenancePriority, CategoryGuestSpecialHandling, CategoryStaffing, CategoryAuditAnomaly, CategoryOther}, c)
}

// Severity is how much a suggestion asks of the operator.
type Severity string

// Severities.
const (
	SeverityInfo           Severity = "info"
	SeverityAttention      Severity = "attention"
	SeverityActionRequired Severity = "action_required"
)

// Valid reports whether s is a severity this client knows.
func (s Severity) Valid() bool {
	return s == SeverityInfo || s == SeverityAttention || s == SeverityActionRequired
}

// ModelClass is where the model ran.
type ModelClass string

// Model classes.
const (
	ModelCloud ModelClass = "cloud"
	ModelEdge  ModelClass = "edge"
)

// Provenance is where a suggestion comes from; every field is set.
type Provenance struct {
	Model                string     `json:"model"`
	ModelVersion         string     `json:"modelVersion"`
	PromptVersion        string     `json:"promptVersion"`
	ModelClass           ModelClass `json:"modelClass"`
	SignatureFingerprint string     `json:"signatureFingerprint"`
}

// Suggestion is one AI suggestion. Provenance is nil when the upstream
// sent none (or an unusable one); such a suggestion is never shown.
type Suggestion struct {
	SuggestionID string          `json:"suggestionId"`
	PropertyID   string          `json:"propertyId"`
	Category     Category        `json:"category"`
	Severity     Severity        `json:"severity"`
	CreatedAt    jsontime.Time   `json:"createdAt"`
	ExpiresAt    jsontime.Time   `json:"expiresAt"`
	Title        string          `json:"title"`
	Body         string          `json:"body,omitempty"`
	Proposal     json.RawMessage `json:"proposal,omitempty"`
	Provenance   *Provenance     `json:"provenance,omitempty"`
}

// Displayable reports whether s may be shown: only with its provenance.
func (s Suggestion) Displayable() bool { return s.Provenance != nil }

// Displayable returns the suggestions that may be shown, in order.
func Displayable(items []Suggestion) []Suggestion {
	out := make([]Suggestion, 0, len(items))
	for _, s := range items {
		if s.Displayable() {
			out = append(out, s)
		}
	}
	return out
}

// Summary counts the open suggestions (with or without provenance: the
// upstream does not know the display rule).
type Summary struct {
	Open           int `json:"open"`
	ActionRequired int `json:"actionRequired"`
}

// Status filters the suggestions listed.
type Status string

// Filters: open ones (not decided, not expired) or all.
const (
	StatusOpen Status = "open"
	StatusAll  Status = "all"
)

type suggestionDoc struct {
	Suggestion
	CreatedAt  string      `json:"createdAt"`
	ExpiresAt  string      `json:"expiresAt"`
	Provenance *Provenance `json:"provenance"`
}

const maxProposal = 16 << 10

// Client calls ai-orchestrator-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg. httpc.WithHTTPClient sets the HTTP
// client (e.g. one adding ID tokens); the per-call timeout applies on top.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.AIOrchestrator, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Suggestions returns the property's suggestions; status "" means open.
func (c *Client) Suggestions(ctx context.Context, tenantID, propertyID string, status Status) ([]Suggestion, error) {
	const op = "aiorchestrator.Suggestions"
	return httpc.GetStatusItems(ctx, c.http, op, tenantID, propertyID, string(status), clean, "suggestions")
}

// DecodeSuggestion reads one suggestion as ai-orchestrator-service sends it
// outside a list — the data of melmastoon.ai.suggestion.created.v1 — and
// cleans it as Suggestions does. A suggestion Suggestions would drop is an
// error; mapped values are logged.
func DecodeSuggestion(ctx context.Context, data []byte) (Suggestion, error) {
	return wire.DecodeOne(ctx, Service, "aiorchestrator.DecodeSuggestion", "suggestion", data,
		func(d suggestionDoc) string { return d.SuggestionID },
		func(d suggestionDoc, rep *wire.Report) (Suggestion, bool) { return clean(d, d.PropertyID, rep) })
}

// clean applies the package's rules to one listed suggestion of
// propertyID; ok is false when it must be dropped.
func clean(d suggestionDoc, propertyID string, rep *wire.Report) (Suggestion, bool) {
	s := d.Suggestion
	if !rep.PropertyItem("suggestionId", s.SuggestionID, s.PropertyID, propertyID) {
		return Suggestion{}, false
	}
	created, okC := wire.Instant(d.CreatedAt)
	expires, okE := wire.Instant(d.ExpiresAt)
	s.Title = wire.Text(s.Title, 200)
	switch {
	case !okC || !okE || expires.Before(created.Time):
		rep.Drop("createdAt/expiresAt", d.CreatedAt+"/"+d.ExpiresAt)
		return Suggestion{}, false
	case s.Title == "":
		rep.Drop("title", "")
		return Suggestion{}, false
	}
	s.CreatedAt, s.ExpiresAt = created, expires
	wire.Default(rep, "category", &s.Category, CategoryOther)
	wire.Default(rep, "severity", &s.Severity, SeverityAttention)
	s.Body = wire.Text(s.Body, 2000)
	if len(s.Proposal) > 0 && string(s.Proposal) != "null" {
		p, ok := wire.Object(s.Proposal, maxProposal)
		if !ok {
			rep.Map("proposal", string(s.Proposal), "none")
		}
		s.Proposal = p
	} else {
		s.Proposal = nil
	}
	s.Provenance = cleanProvenance(d.Provenance, rep)
	return s, true
}

func cleanProvenance(p *Provenance, rep *wire.Report) *Provenance {
	if p == nil {
		return nil
	}
	c := Provenance{
		Model: wire.Text(p.Model, 128), ModelVersion: wire.Text(p.ModelVersion, 128),
		PromptVersion: wire.Text(p.PromptVersion, 128), ModelClass: p.ModelClass,
		SignatureFingerprint: wire.Text(p.SignatureFingerprint, 256),
	}
	if c.Model == "" || c.ModelVersion == "" || c.PromptVersion == "" || c.SignatureFingerprint == "" ||
		(c.ModelClass != ModelCloud && c.ModelClass != ModelEdge) {
		rep.Map("provenance", string(c.ModelClass)+"/"+c.Model, "none")
		return nil
	}
	return &c
}

// Summary returns the counts of the property's open suggestions.
func (c *Client) Summary(ctx context.Context, tenantID, propertyID string) (Summary, error) {
	const op = "aiorchestrator.Summary"
	return httpc.GetCounts[Summary](ctx, c.http, op, tenantID, propertyID, nil, "suggestions", "summary")
}

// Outcome is what an operator decided about a suggestion.
type Outcome string

// Outcomes of a decision: a modified one carries the changed fields.
const (
	OutcomeAccepted Outcome = "accepted"
	OutcomeRejected Outcome = "rejected"
	OutcomeModified Outcome = "modified"
)

// Valid reports whether o is an outcome.
func (o Outcome) Valid() bool {
	return o == OutcomeAccepted || o == OutcomeRejected || o == OutcomeModified
}

// Decision is what the BFF forwards once an operator decided. DecisionID
// is the BFF's id of the decision (the inbox entry's aim_ id: there is one
// decision per suggestion), by which the service deduplicates redeliveries.
type Decision struct {
	DecisionID      string          `json:"decisionId"`
	Outcome         Outcome         `json:"outcome"`
	ModifiedDelta   json.RawMessage `json:"modifiedDelta,omitempty"`
	Notes           string          `json:"notes,omitempty"`
	DecidedBy       string          `json:"decidedBy"`
	DecidedAt       jsontime.Time   `json:"decidedAt"`
	DecidedDeviceID string          `json:"decidedDeviceId"`
}

// RecordDecision forwards d for the property's suggestion:
// POST P/suggestions/{suggestionId}/decisions. Sending the same DecisionID
// again is acknowledged by the service without effect, so a retry after an
// unknown outcome is safe. Besides the package's errors: an error matching
// ErrNotFound when the service does not know the suggestion, and one
// matching ErrConflict when it holds another decision for it.
func (c *Client) RecordDecision(ctx context.Context, tenantID, propertyID, suggestionID string, d Decision) error {
	const op = "aiorchestrator.RecordDecision"
	if err := wire.CheckProperty(tenantID, propertyID); err != nil {
		return err
	}
	if !wire.ValidOpaqueID(suggestionID) {
		return apperr.Validation(apperr.FieldError{Field: "suggestionId", Message: "malformed"})
	}
	if !d.Outcome.Valid() || d.DecisionID == "" {
		return apperr.Validation(apperr.FieldError{Field: "decision", Message: "needs a decisionId and a known outcome"})
	}
	return c.http.SendJSON(ctx, op, http.MethodPost, wire.PropertyPath(tenantID, propertyID, "suggestions", suggestionID, "decisions"), d, nil)
}

// ErrConflict is matched (errors.Is) by the service's 409.
var ErrConflict = httpc.ErrConflict
