// Package notification is the client of notification-service: the alerts
// of a property (docs/UPSTREAMS.md; the alert rules are in docs/DOMAIN.md).
//
// Errors of every method: VALIDATION_FAILED for malformed ids or filters
// (checked before any call); an error matching httpc.ErrNotFound when the
// service knows neither the tenant nor the property; UPSTREAM_UNAVAILABLE
// for timeouts (the earlier of ctx's deadline and Config.Timeout),
// connection failures, 5xx, 429 and answers that cannot be used; INTERNAL
// for other statuses.
//
// What is cleaned from answers (see shared/upstream/wire):
//   - an alert with a malformed id, another property's id or no usable
//     raisedAt is dropped;
//   - an unknown severity becomes "warning" — an alert of a kind this
//     client does not know is still shown, neither hidden nor escalated to
//     critical; an unknown category becomes "other";
//   - a malformed resolvedAt (or one before raisedAt) is cleared, so the
//     alert stays open rather than silently disappearing;
//   - a payload that is not a JSON object (or over 16 KiB) becomes {}.
//
// A summary with a negative count is refused as UPSTREAM_UNAVAILABLE.
package notification

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = upstream.NotificationService

// Config is the notification-service part of a function's configuration; its
// variables are listed with every upstream's in shared/upstream.
type Config = upstream.NotificationConfig

// Severity of an alert.
type Severity string

// Severities.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Valid reports whether s is a severity this client knows.
func (s Severity) Valid() bool {
	return s == SeverityInfo || s == SeverityWarning || s == SeverityCritical
}

// Category is what an alert is about; an unknown one is mapped to other.
type Category string

// Categories.
const (
	CategoryOversold      Category = "oversold"
	CategoryNoShow        Category = "no_show"
	CategoryPaymentFailed Category = "payment_failed"
	CategoryLockFailed    Category = "lock_failed"
	CategorySyncLag       Category = "sync_lag"
	CategoryDeviceOffline Category = "device_offline"
	CategorySecurity      Category = "security"
	CategoryOther         Category = "other"
)

// Valid reports whether c is a category this client knows.
func (c Category) Valid() bool {
	return slices.Contains([]Category{CategoryOversold, CategoryNoShow, CategoryPaymentFailed, CategoryLockFailed, CategorySyncLag, CategoryDeviceOffline, CategorySecurity, CategoryOther}, c)
}

// Alert is one alert; ResolvedAt is zero while it is open. Payload is the
// upstream's, typed by Category, always a JSON object.
type Alert struct {
	AlertID    string          `json:"alertId"`
	PropertyID string          `json:"propertyId"`
	Severity   Severity        `json:"severity"`
	Category   Category        `json:"category"`
	RaisedAt   jsontime.Time   `json:"raisedAt"`
	ResolvedAt jsontime.Time   `json:"resolvedAt,omitzero"`
	Payload    json.RawMessage `json:"payload"`
}

// Summary counts the open alerts.
type Summary struct {
	Open     int `json:"open"`
	Critical int `json:"critical"`
}

// Status filters the alerts listed.
type Status string

// Filters: open (unresolved) alerts or all.
const (
	StatusOpen Status = "open"
	StatusAll  Status = "all"
)

type alertDoc struct {
	Alert
	RaisedAt   string `json:"raisedAt"`
	ResolvedAt string `json:"resolvedAt"`
}

const maxPayload = 16 << 10

// Client calls notification-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg. httpc.WithHTTPClient sets the HTTP
// client (e.g. one adding ID tokens); the per-call timeout applies on top.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Notification, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Alerts returns the property's alerts; status "" means open.
func (c *Client) Alerts(ctx context.Context, tenantID, propertyID string, status Status) ([]Alert, error) {
	const op = "notification.Alerts"
	return httpc.GetStatusItems(ctx, c.http, op, tenantID, propertyID, string(status), clean, "alerts")
}

// DecodeAlert reads one alert as notification-service sends it outside a
// list — the data of melmastoon.notification.alert.raised.v1 — and cleans
// it as Alerts does. An alert Alerts would drop is an error; mapped values
// are logged.
func DecodeAlert(ctx context.Context, data []byte) (Alert, error) {
	return wire.DecodeOne(ctx, Service, "notification.DecodeAlert", "alert", data,
		func(d alertDoc) string { return d.AlertID },
		func(d alertDoc, rep *wire.Report) (Alert, bool) { return clean(d, d.PropertyID, rep) })
}

// clean applies the package's rules to one listed alert of propertyID; ok
// is false when it must be dropped.
func clean(d alertDoc, propertyID string, rep *wire.Report) (Alert, bool) {
	a := d.Alert
	if !rep.PropertyItem("alertId", a.AlertID, a.PropertyID, propertyID) {
		return Alert{}, false
	}
	raised, ok := wire.Instant(d.RaisedAt)
	if !ok {
		rep.Drop("raisedAt", d.RaisedAt)
		return Alert{}, false
	}
	a.RaisedAt = raised
	if resolved, ok := wire.Instant(d.ResolvedAt); ok && !resolved.Before(raised.Time) {
		a.ResolvedAt = resolved
	} else if d.ResolvedAt != "" {
		rep.Map("resolvedAt", d.ResolvedAt, "")
	}
	wire.Default(rep, "severity", &a.Severity, SeverityWarning)
	wire.Default(rep, "category", &a.Category, CategoryOther)
	if p, ok := wire.Object(a.Payload, maxPayload); ok {
		a.Payload = p
	} else {
		if len(a.Payload) > 0 && string(a.Payload) != "null" {
			rep.Map("payload", string(a.Payload), "{}")
		}
		a.Payload = json.RawMessage(`{}`)
	}
	return a, true
}

// Summary returns the counts of the property's open alerts.
func (c *Client) Summary(ctx context.Context, tenantID, propertyID string) (Summary, error) {
	const op = "notification.Summary"
	return httpc.GetCounts[Summary](ctx, c.http, op, tenantID, propertyID, nil, "alerts", "summary")
}
