package tenant

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Preferences is an operator's preferences as tenant-service, their owner,
// holds them. The four sections are kept as JSON: the BFF validates what
// it sends and passes through what it reads.
type Preferences struct {
	Version       int64
	UpdatedAt     time.Time
	Layout        json.RawMessage
	Notifications json.RawMessage
	I18n          json.RawMessage
	Appearance    json.RawMessage
}

type preferencesDoc struct {
	TenantID      string          `json:"tenantId"`
	OperatorID    string          `json:"operatorId"`
	Version       int64           `json:"version"`
	UpdatedAt     string          `json:"updatedAt"`
	Layout        json.RawMessage `json:"layout"`
	Notifications json.RawMessage `json:"notifications"`
	I18n          json.RawMessage `json:"i18n"`
	Appearance    json.RawMessage `json:"appearance"`
}

// ErrVersionConflict is matched by PutPreferences' error when the expected
// version is not tenant-service's current one.
var ErrVersionConflict = httpc.ErrConflict

// OperatorPreferences reads an operator's preferences. Errors as
// OperatorAccess's.
func (c *Client) OperatorPreferences(ctx context.Context, tenantID, operatorID string) (Preferences, error) {
	const op = "tenant.OperatorPreferences"
	if err := checkOperator(tenantID, operatorID); err != nil {
		return Preferences{}, err
	}
	var doc preferencesDoc
	if err := c.http.GetJSON(ctx, op, prefsPath(tenantID, operatorID), nil, &doc); err != nil {
		return Preferences{}, err
	}
	return c.checkPrefs(op, tenantID, operatorID, doc)
}

// PutPreferences writes an operator's preferences if tenant-service's
// version is expected, and returns the new document. A stale expected
// version is an error matching ErrVersionConflict.
func (c *Client) PutPreferences(ctx context.Context, tenantID, operatorID string, expected int64, p Preferences) (Preferences, error) {
	const op = "tenant.PutPreferences"
	if err := checkOperator(tenantID, operatorID); err != nil {
		return Preferences{}, err
	}
	body := map[string]any{"expectedVersion": expected, "layout": p.Layout, "notifications": p.Notifications, "i18n": p.I18n, "appearance": p.Appearance}
	var doc preferencesDoc
	if err := c.http.SendJSON(ctx, op, http.MethodPut, prefsPath(tenantID, operatorID), body, &doc); err != nil {
		return Preferences{}, err
	}
	return c.checkPrefs(op, tenantID, operatorID, doc)
}

func prefsPath(tenantID, operatorID string) []string {
	return []string{"v1", "tenants", tenantID, "operators", operatorID, "preferences"}
}

func checkOperator(tenantID, operatorID string) error {
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		return apperr.Validation(apperr.FieldError{Field: "tenantId", Message: err.Error()})
	}
	if err := ids.Check(ids.Operator, operatorID); err != nil {
		return apperr.Validation(apperr.FieldError{Field: "operatorId", Message: err.Error()})
	}
	return nil
}

// checkPrefs refuses an answer for someone else, without a positive
// version or with a section that is not a JSON object.
func (c *Client) checkPrefs(op, tenantID, operatorID string, doc preferencesDoc) (Preferences, error) {
	if doc.TenantID != tenantID || doc.OperatorID != operatorID {
		return Preferences{}, c.http.Unavailable(op, "answer is for %s/%s", doc.TenantID, doc.OperatorID)
	}
	at, ok := wire.Instant(doc.UpdatedAt)
	if doc.Version < 1 || !ok {
		return Preferences{}, c.http.Unavailable(op, "unusable version %d or updatedAt", doc.Version)
	}
	for _, sec := range []json.RawMessage{doc.Layout, doc.Notifications, doc.I18n, doc.Appearance} {
		var m map[string]any
		if err := json.Unmarshal(sec, &m); err != nil || m == nil {
			return Preferences{}, c.http.Unavailable(op, "a section is not an object")
		}
	}
	return Preferences{Version: doc.Version, UpdatedAt: at.Time, Layout: doc.Layout, Notifications: doc.Notifications, I18n: doc.I18n, Appearance: doc.Appearance}, nil
}
