package httpc

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Endpoint is what every client's Config holds: where the upstream answers
// and how long one call may take. A client's Config is its own struct only
// because the env tags naming its variables differ; it converts to an
// Endpoint (httpc.Endpoint(cfg)) since struct tags do not count in
// conversions.
type Endpoint struct {
	URL     string
	Timeout time.Duration
}

// Upstream describes one upstream service to the code its clients share.
type Upstream struct {
	// Service is the name in errors and logs: "reservation-service".
	Service string
	// Env is the prefix of the service's variables: "RESERVATION_SERVICE"
	// for RESERVATION_SERVICE_URL and RESERVATION_SERVICE_TIMEOUT, which
	// errors name so a bad deployment says what to fix.
	Env string
	// Pkg is the client's package, the context of constructor errors.
	Pkg string
	// Options apply before the caller's (a smaller body limit, say).
	Options []Option
}

// Validate checks the rules env tags cannot express: an absolute http(s)
// URL and a positive timeout.
func (u Upstream) Validate(e Endpoint) error {
	return errors.Join(
		ValidateURL(u.Env+"_URL", e.URL),
		ValidateTimeout(u.Env+"_TIMEOUT", e.Timeout),
	)
}

// Dial validates e and builds the client of the upstream; the client
// packages' NewClient is this.
func (u Upstream) Dial(e Endpoint, opts ...Option) (_ *Client, err error) {
	defer derrors.Wrap(&err, "%s.NewClient", u.Pkg)
	if err := u.Validate(e); err != nil {
		return nil, err
	}
	return New(u.Service, e.URL, e.Timeout, append(slices.Clone(u.Options), opts...)...)
}

// GetProperty is GetJSON of a property-scoped resource (rest below
// /v1/tenants/{t}/properties/{p}), the ids checked before any call so a
// malformed one never reaches, or is joined into the path of, an upstream.
func (c *Client) GetProperty(ctx context.Context, op, tenantID, propertyID string, query url.Values, v any, rest ...string) error {
	if err := wire.CheckProperty(tenantID, propertyID); err != nil {
		return err
	}
	return c.GetJSON(ctx, op, wire.PropertyPath(tenantID, propertyID, rest...), query, v)
}

// GetTenantItem is GetJSON of item id of a tenant's collection
// (/v1/tenants/{t}/{collection}/{id}), the ids checked before any call as
// GetProperty's are (wire.CheckTenantItem: the item's id is of kind p,
// field names it).
func (c *Client) GetTenantItem(ctx context.Context, op, tenantID, collection string, p ids.Prefix, field, id string, v any) error {
	if err := wire.CheckTenantItem(tenantID, p, field, id); err != nil {
		return err
	}
	return c.GetJSON(ctx, op, wire.TenantPath(tenantID, collection, id), nil, v)
}

// GetPropertyItem is GetTenantItem of an item that belongs to one of the
// tenant's properties (a reservation, a folio), whose property the caller
// checks against a session's scope: an answer for another item, or naming
// a malformed property, is refused as UPSTREAM_UNAVAILABLE. key returns
// the answer's item id and property id; what names the item in errors.
func GetPropertyItem[T any](ctx context.Context, c *Client, op, tenantID, collection, what string, p ids.Prefix, field, id string, key func(T) (itemID, propertyID string)) (T, error) {
	var v, zero T
	if err := c.GetTenantItem(ctx, op, tenantID, collection, p, field, id, &v); err != nil {
		return zero, err
	}
	switch itemID, propertyID := key(v); {
	case itemID != id:
		return zero, c.Unavailable(op, "answer for another %s", what)
	case ids.Check(ids.Property, propertyID) != nil:
		return zero, c.Unavailable(op, "malformed propertyId")
	}
	return v, nil
}

// NonNegative refuses an answer with a negative count (wire.Negative: an
// int field of v) as the service being unavailable: a summary that cannot
// be right must not be shown as if it were.
func (c *Client) NonNegative(op string, v any) error {
	if bad := wire.Negative(v); bad != "" {
		return c.Unavailable(op, "%s is negative", bad)
	}
	return nil
}

// Open is Dial for a client package whose Client wraps the *Client: wrap
// builds that Client, and a failed Dial returns T's zero value (nil).
func Open[T any](u Upstream, e Endpoint, opts []Option, wrap func(*Client) T) (T, error) {
	c, err := u.Dial(e, opts...)
	if err != nil {
		var zero T
		return zero, err
	}
	return wrap(c), nil
}

// GetItems is GetProperty of a list the upstream answers as {"items":
// [...]}: each item is cleaned by clean, and what it dropped or mapped is
// logged once (wire.Keep). The result is never nil.
func GetItems[D, T any](ctx context.Context, c *Client, op, tenantID, propertyID string, query url.Values, clean func(D, *wire.Report) (T, bool), rest ...string) ([]T, error) {
	var doc struct {
		Items []D `json:"items"`
	}
	if err := c.GetProperty(ctx, op, tenantID, propertyID, query, &doc, rest...); err != nil {
		return nil, err
	}
	return wire.Keep(ctx, c.service, op, doc.Items, clean), nil
}

// GetStatusItems is GetItems of a list filtered to open items or all
// (wire.StatusQuery; "" is open), the filter checked before the ids. Each
// item is cleaned by clean as one of propertyID, which drops another
// property's.
func GetStatusItems[D, T any](ctx context.Context, c *Client, op, tenantID, propertyID, status string, clean func(D, string, *wire.Report) (T, bool), rest ...string) ([]T, error) {
	query, err := wire.StatusQuery(status)
	if err != nil {
		return nil, err
	}
	return GetItems(ctx, c, op, tenantID, propertyID, query, func(d D, rep *wire.Report) (T, bool) {
		return clean(d, propertyID, rep)
	}, rest...)
}

// GetDay is GetProperty of a day's resource: date ("YYYY-MM-DD") is
// checked with the ids before any call and sent as the date query, and an
// answer for another day (dateOf) is refused as UPSTREAM_UNAVAILABLE.
func GetDay[S any](ctx context.Context, c *Client, op, tenantID, propertyID, date string, dateOf func(S) string, rest ...string) (S, error) {
	var doc, zero S
	if err := wire.CheckPropertyDate(tenantID, propertyID, date); err != nil {
		return zero, err
	}
	if err := c.GetProperty(ctx, op, tenantID, propertyID, url.Values{"date": {date}}, &doc, rest...); err != nil {
		return zero, err
	}
	if got := dateOf(doc); got != date {
		return zero, c.Unavailable(op, "answer is for %q, not %s", got, date)
	}
	return doc, nil
}

// GetCounts is GetProperty of an answer holding counts, refused
// (NonNegative) when one is negative.
func GetCounts[S any](ctx context.Context, c *Client, op, tenantID, propertyID string, query url.Values, rest ...string) (S, error) {
	var doc S
	if err := c.GetProperty(ctx, op, tenantID, propertyID, query, &doc, rest...); err != nil {
		var zero S
		return zero, err
	}
	if err := c.NonNegative(op, doc); err != nil {
		var zero S
		return zero, err
	}
	return doc, nil
}
