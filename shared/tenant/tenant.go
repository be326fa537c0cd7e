// Package tenant is the client of tenant-service, the owner of operators'
// roles and property scopes.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// Operator roles, as tenant-service names them.
const (
	RoleFrontDesk        = "front_desk"
	RoleNightAuditor     = "night_auditor"
	RoleHousekeepingLead = "housekeeping_lead"
	RoleMaintenanceLead  = "maintenance_lead"
	RoleManager          = "manager"
	RoleAdmin            = "admin"
)

var roles = []string{RoleFrontDesk, RoleNightAuditor, RoleHousekeepingLead, RoleMaintenanceLead, RoleManager, RoleAdmin}

// Roles returns every role this service knows, in a fixed order.
func Roles() []string { return slices.Clone(roles) }

// ValidRole reports whether r is a role this service knows.
func ValidRole(r string) bool { return slices.Contains(roles, r) }

// maxResponse bounds what we read from tenant-service; an access document is
// a few hundred bytes.
const maxResponse = 1 << 20

// Config is the tenant-service part of a function's configuration.
type Config struct {
	URL     string        `env:"TENANT_SERVICE_URL, required"`
	Timeout time.Duration `env:"TENANT_SERVICE_TIMEOUT, default=800ms"`
}

var upstream = httpc.Upstream{
	Service: "tenant-service", Env: "TENANT_SERVICE", Pkg: "tenant",
	Options: []httpc.Option{httpc.WithMaxResponse(maxResponse)},
}

// Validate checks the rules env tags cannot express.
func (c Config) Validate() error { return upstream.Validate(httpc.Endpoint(c)) }

// Access is what an operator may do in a tenant: roles and the properties
// they may see. Only known roles and well-formed property ids are kept.
type Access struct {
	Roles             []string
	PropertyScope     []string
	PrimaryPropertyID string
}

// ErrNotFound is matched (errors.Is) by the error OperatorAccess returns when
// tenant-service does not know the tenant or the operator.
var ErrNotFound = errors.New("tenant: not found")

// NotFoundError is the typed form of ErrNotFound.
type NotFoundError struct {
	TenantID   string
	OperatorID string
	Code       string // tenant-service's problem code, when it sent one
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("tenant: operator %s of tenant %s not found (%s)", e.OperatorID, e.TenantID, e.Code)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Option tunes a Client.
type Option = httpc.Option

// WithHTTPClient sets the HTTP client, e.g. one that adds Google ID tokens
// for Cloud Run service-to-service calls. Its own Timeout is left alone;
// the per-call Config.Timeout applies on top.
func WithHTTPClient(hc *http.Client) Option { return httpc.WithHTTPClient(hc) }

// Client calls tenant-service. Safe for concurrent use; build one per
// instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	return httpc.Open(upstream, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

type accessDoc struct {
	TenantID          string   `json:"tenantId"`
	OperatorID        string   `json:"operatorId"`
	Roles             []string `json:"roles"`
	PropertyScope     []string `json:"propertyScope"`
	PrimaryPropertyID string   `json:"primaryPropertyId"`
}

// OperatorAccess returns the roles and property scope of an operator.
//
// Errors: VALIDATION_FAILED for malformed ids; an error matching ErrNotFound
// when tenant-service knows neither; UPSTREAM_UNAVAILABLE for timeouts,
// connection failures, 5xx, 429 and unreadable answers; INTERNAL for other
// statuses (a request we built wrong or credentials we lack).
func (c *Client) OperatorAccess(ctx context.Context, tenantID, operatorID string) (Access, error) {
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		return Access{}, apperr.Validation(apperr.FieldError{Field: "tenantId", Message: err.Error()})
	}
	if err := ids.Check(ids.Operator, operatorID); err != nil {
		return Access{}, apperr.Validation(apperr.FieldError{Field: "operatorId", Message: err.Error()})
	}
	var doc accessDoc
	err := c.http.GetJSON(ctx, "tenant.OperatorAccess", []string{"v1", "tenants", tenantID, "operators", operatorID, "access"}, nil, &doc)
	var nf *httpc.NotFoundError
	if errors.As(err, &nf) {
		return Access{}, &NotFoundError{TenantID: tenantID, OperatorID: operatorID, Code: nf.Code}
	}
	if err != nil {
		return Access{}, err
	}
	if doc.TenantID != tenantID || doc.OperatorID != operatorID {
		// Answering for someone else would hand out another operator's
		// scope; treat it as a broken upstream, never as data.
		return Access{}, c.http.Unavailable("tenant.OperatorAccess", "answer is for %s/%s", doc.TenantID, doc.OperatorID)
	}
	return sanitize(ctx, doc), nil
}

// sanitize keeps what this service can act on. Dropping an unknown role is
// safe (it grants nothing here); dropping a malformed property id narrows
// the scope, never widens it.
func sanitize(ctx context.Context, doc accessDoc) Access {
	log := logging.From(ctx)
	a := Access{Roles: []string{}, PropertyScope: []string{}}
	for _, r := range doc.Roles {
		switch {
		case !ValidRole(r):
			log.WarnContext(ctx, "tenant-service sent an unknown role; dropped",
				"role", truncate(r), "tenantId", doc.TenantID, "operatorId", doc.OperatorID)
		case !slices.Contains(a.Roles, r):
			a.Roles = append(a.Roles, r)
		}
	}
	for _, p := range doc.PropertyScope {
		switch {
		case !ids.Valid(ids.Property, p):
			log.WarnContext(ctx, "tenant-service sent a malformed property id; dropped",
				"propertyId", truncate(p), "tenantId", doc.TenantID, "operatorId", doc.OperatorID)
		case !slices.Contains(a.PropertyScope, p):
			a.PropertyScope = append(a.PropertyScope, p)
		}
	}
	if doc.PrimaryPropertyID != "" {
		if slices.Contains(a.PropertyScope, doc.PrimaryPropertyID) {
			a.PrimaryPropertyID = doc.PrimaryPropertyID
		} else {
			log.WarnContext(ctx, "tenant-service primary property is not in scope; ignored",
				"propertyId", truncate(doc.PrimaryPropertyID), "tenantId", doc.TenantID, "operatorId", doc.OperatorID)
		}
	}
	return a
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// traceparent is kept for this package's tests of the header it sends.
func traceparent(t logging.Trace) (string, bool) { return httpc.Traceparent(t) }
