package tenant

import (
	"context"
	"net/http"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// ShortcutOverrides is one of an operator's keyboard-shortcut override
// documents as tenant-service holds it: the global one (PropertyID "") or
// one property's. Each has its own version.
type ShortcutOverrides struct {
	ID         string
	PropertyID string
	Version    int64
	UpdatedAt  time.Time
	Overrides  map[string]string
}

type shortcutsDoc struct {
	ID         string            `json:"id"`
	TenantID   string            `json:"tenantId"`
	OperatorID string            `json:"operatorId"`
	PropertyID string            `json:"propertyId"`
	Version    int64             `json:"version"`
	UpdatedAt  string            `json:"updatedAt"`
	Overrides  map[string]string `json:"overrides"`
}

// OperatorShortcuts reads an operator's shortcut overrides: the global
// document when propertyID is "", else that property's. Errors as
// OperatorAccess's.
func (c *Client) OperatorShortcuts(ctx context.Context, tenantID, operatorID, propertyID string) (ShortcutOverrides, error) {
	const op = "tenant.OperatorShortcuts"
	path, err := shortcutsPath(tenantID, operatorID, propertyID)
	if err != nil {
		return ShortcutOverrides{}, err
	}
	var doc shortcutsDoc
	if err := c.http.GetJSON(ctx, op, path, nil, &doc); err != nil {
		return ShortcutOverrides{}, err
	}
	return c.checkShortcuts(op, tenantID, operatorID, propertyID, doc)
}

// PutShortcuts replaces an operator's overrides document (global or
// propertyID's) if tenant-service's version is expected, and returns the
// new document. A stale expected version is an error matching
// ErrVersionConflict.
func (c *Client) PutShortcuts(ctx context.Context, tenantID, operatorID, propertyID string, expected int64, overrides map[string]string) (ShortcutOverrides, error) {
	const op = "tenant.PutShortcuts"
	path, err := shortcutsPath(tenantID, operatorID, propertyID)
	if err != nil {
		return ShortcutOverrides{}, err
	}
	if overrides == nil {
		overrides = map[string]string{}
	}
	var doc shortcutsDoc
	if err := c.http.SendJSON(ctx, op, http.MethodPut, path, map[string]any{"expectedVersion": expected, "overrides": overrides}, &doc); err != nil {
		return ShortcutOverrides{}, err
	}
	return c.checkShortcuts(op, tenantID, operatorID, propertyID, doc)
}

func shortcutsPath(tenantID, operatorID, propertyID string) ([]string, error) {
	if err := checkOperator(tenantID, operatorID); err != nil {
		return nil, err
	}
	if propertyID == "" {
		return []string{"v1", "tenants", tenantID, "operators", operatorID, "shortcuts"}, nil
	}
	if err := ids.Check(ids.Property, propertyID); err != nil {
		return nil, apperr.Validation(apperr.FieldError{Field: "propertyId", Message: err.Error()})
	}
	return []string{"v1", "tenants", tenantID, "operators", operatorID, "properties", propertyID, "shortcuts"}, nil
}

// checkShortcuts refuses an answer for another operator or property,
// without a ksm id, a positive version or an overrides object.
func (c *Client) checkShortcuts(op, tenantID, operatorID, propertyID string, doc shortcutsDoc) (ShortcutOverrides, error) {
	if doc.TenantID != tenantID || doc.OperatorID != operatorID || doc.PropertyID != propertyID {
		return ShortcutOverrides{}, c.http.Unavailable(op, "answer is for %s/%s/%s", doc.TenantID, doc.OperatorID, doc.PropertyID)
	}
	at, ok := wire.Instant(doc.UpdatedAt)
	if doc.Version < 1 || !ok || !ids.Valid(ids.ShortcutMap, doc.ID) || doc.Overrides == nil {
		return ShortcutOverrides{}, c.http.Unavailable(op, "unusable id %q, version %d, updatedAt or overrides", doc.ID, doc.Version)
	}
	return ShortcutOverrides{ID: doc.ID, PropertyID: doc.PropertyID, Version: doc.Version, UpdatedAt: at.Time, Overrides: doc.Overrides}, nil
}
