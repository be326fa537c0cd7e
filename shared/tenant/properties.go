package tenant

import (
	"context"
	"errors"
	"time"
	// The deployed runtime image may carry no zoneinfo; property time zones
	// decide what "today" is.
	_ "time/tzdata"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// Property is one hotel of a tenant.
type Property struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	// Location is Timezone loaded; UTC when tenant-service sent an unknown
	// zone (logged), so a bad zone shifts "today" rather than break views.
	Location *time.Location `json:"-"`
}

// Properties lists the tenant's properties.
func (c *Client) Properties(ctx context.Context, tenantID string) ([]Property, error) {
	const op = "tenant.Properties"
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		return nil, apperr.Validation(apperr.FieldError{Field: "tenantId", Message: err.Error()})
	}
	var doc struct {
		Properties []Property `json:"properties"`
	}
	err := c.http.GetJSON(ctx, op, []string{"v1", "tenants", tenantID, "properties"}, nil, &doc)
	var nf *httpc.NotFoundError
	if errors.As(err, &nf) {
		return nil, &NotFoundError{TenantID: tenantID, Code: nf.Code}
	}
	if err != nil {
		return nil, err
	}
	out := make([]Property, 0, len(doc.Properties))
	for _, p := range doc.Properties {
		if !ids.Valid(ids.Property, p.ID) {
			continue
		}
		loc, err := time.LoadLocation(p.Timezone)
		if err != nil || p.Timezone == "" {
			loc = time.UTC
		}
		p.Location = loc
		out = append(out, p)
	}
	return out, nil
}
