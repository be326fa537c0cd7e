package tenant

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// Preferences is an operator's preferences document as tenant-service,
// their owner, holds it; GET /v1/preferences answers it as it is
// (preferences.Preferences). The four sections are kept as JSON: the BFF
// validates what it sends and passes through what it reads.
type Preferences struct {
	TenantID      string          `json:"tenantId"`
	OperatorID    string          `json:"operatorId"`
	Version       int64           `json:"version"`
	UpdatedAt     jsontime.Time   `json:"updatedAt"`
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
	var doc Preferences
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
	var doc Preferences
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
func (c *Client) checkPrefs(op, tenantID, operatorID string, doc Preferences) (Preferences, error) {
	if doc.TenantID != tenantID || doc.OperatorID != operatorID {
		return Preferences{}, c.http.Unavailable(op, "answer is for %s/%s", doc.TenantID, doc.OperatorID)
	}
	// A malformed updatedAt failed the decoding already; an absent, null
	// or zero one is zero here.
	if doc.Version < 1 || doc.UpdatedAt.IsZero() {
		return Preferences{}, c.http.Unavailable(op, "unusable version %d or updatedAt", doc.Version)
	}
	for _, sec := range []json.RawMessage{doc.Layout, doc.Notifications, doc.I18n, doc.Appearance} {
		var m map[string]any
		if err := json.Unmarshal(sec, &m); err != nil || m == nil {
			return Preferences{}, c.http.Unavailable(op, "a section is not an object")
		}
	}
	return doc, nil
}
