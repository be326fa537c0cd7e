// Package tenant is the client of tenant-service, the owner of operators'
// roles and property scopes.
package tenant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
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

// Validate checks the rules env tags cannot express.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("TENANT_SERVICE_URL: %w", err))
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		errs = append(errs, errors.New("TENANT_SERVICE_URL: must be an absolute http(s) URL"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("TENANT_SERVICE_TIMEOUT: must be positive"))
	}
	return errors.Join(errs...)
}

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
type Option func(*Client)

// WithHTTPClient sets the HTTP client, e.g. one that adds Google ID tokens
// for Cloud Run service-to-service calls. Its own Timeout is left alone;
// the per-call Config.Timeout applies on top.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// Client calls tenant-service. Safe for concurrent use; build one per
// instance.
type Client struct {
	base    *url.URL
	timeout time.Duration
	hc      *http.Client
}

// NewClient builds a client from cfg.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tenant.NewClient: %w", err)
	}
	base, _ := url.Parse(strings.TrimRight(cfg.URL, "/"))
	c := &Client{base: base, timeout: cfg.Timeout}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Every request of a busy instance goes to the same host; the
		// default of 2 idle connections would churn TCP+TLS handshakes.
		tr.MaxIdleConnsPerHost = 64
		c.hc = &http.Client{Transport: tr}
	}
	return c, nil
}

type accessDoc struct {
	TenantID          string   `json:"tenantId"`
	OperatorID        string   `json:"operatorId"`
	Roles             []string `json:"roles"`
	PropertyScope     []string `json:"propertyScope"`
	PrimaryPropertyID string   `json:"primaryPropertyId"`
}

type problemDoc struct {
	Code string `json:"code"`
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
	u := c.base.JoinPath("v1", "tenants", tenantID, "operators", operatorID, "access")

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Access{}, apperr.Wrap(apperr.Internal, fmt.Errorf("tenant.OperatorAccess: %w", err), "an internal error occurred")
	}
	c.decorate(ctx, req)

	resp, err := c.hc.Do(req)
	if err != nil {
		return Access{}, apperr.Unavailable(fmt.Errorf("tenant.OperatorAccess: %w", describe(err)), "tenant-service")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return Access{}, apperr.Unavailable(fmt.Errorf("tenant.OperatorAccess: read body: %w", describe(err)), "tenant-service")
	}
	if len(body) > maxResponse {
		return Access{}, apperr.Unavailable(fmt.Errorf("tenant.OperatorAccess: response over %d bytes", maxResponse), "tenant-service")
	}

	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		var p problemDoc
		_ = json.Unmarshal(body, &p) // the code is informative only
		return Access{}, &NotFoundError{TenantID: tenantID, OperatorID: operatorID, Code: p.Code}
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
		return Access{}, apperr.Unavailable(fmt.Errorf("tenant.OperatorAccess: status %d", resp.StatusCode), "tenant-service")
	default:
		return Access{}, apperr.Wrap(apperr.Internal, fmt.Errorf("tenant.OperatorAccess: unexpected status %d", resp.StatusCode), "an internal error occurred")
	}

	var doc accessDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return Access{}, apperr.Unavailable(fmt.Errorf("tenant.OperatorAccess: decode: %w", err), "tenant-service")
	}
	if doc.TenantID != tenantID || doc.OperatorID != operatorID {
		// Answering for someone else would hand out another operator's
		// scope; treat it as a broken upstream, never as data.
		return Access{}, apperr.Unavailable(fmt.Errorf("tenant.OperatorAccess: answer is for %s/%s", doc.TenantID, doc.OperatorID), "tenant-service")
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

// describe makes timeouts recognisable in logs without losing the cause.
func describe(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("timeout: %w", err)
	}
	return err
}

// decorate propagates the request id and W3C trace context, so tenant-service
// logs line up with ours.
func (c *Client) decorate(ctx context.Context, req *http.Request) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "melmastoon-bff-backoffice")
	if rid := httpx.RequestID(ctx); rid != "" {
		req.Header.Set("X-Request-Id", rid)
	}
	if t, ok := logging.TraceFrom(ctx); ok {
		if tp, ok := traceparent(t); ok {
			req.Header.Set("traceparent", tp)
		}
	}
}

// traceparent renders t as a W3C traceparent. The span id becomes the
// parent of tenant-service's span; X-Cloud-Trace-Context carries it in
// decimal, traceparent in hex, and a missing one is replaced by a fresh id
// because the field is mandatory.
func traceparent(t logging.Trace) (string, bool) {
	if len(t.TraceID) != 32 || !isHex(t.TraceID) || t.TraceID == strings.Repeat("0", 32) {
		return "", false
	}
	span := strings.ToLower(t.SpanID)
	switch {
	case len(span) == 16 && isHex(span) && span != strings.Repeat("0", 16):
	default:
		if n, err := strconv.ParseUint(t.SpanID, 10, 64); err == nil && n != 0 {
			span = fmt.Sprintf("%016x", n)
		} else {
			var b [8]byte
			_, _ = rand.Read(b[:])
			b[0] |= 1 // never all zeros
			span = hex.EncodeToString(b[:])
		}
	}
	flags := "00"
	if t.Sampled {
		flags = "01"
	}
	return "00-" + strings.ToLower(t.TraceID) + "-" + span + "-" + flags, true
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
