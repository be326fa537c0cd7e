// Package folio is the client of folio-service:
//
//	GET  /v1/tenants/{t}/folios/{folId}                               → Folio
//	POST /v1/tenants/{t}/properties/{p}/folios/{folId}/{adjustments|refunds}  Idempotency-Key → 201 Posting
//
// Amounts are integer minor units. folio-service posts a request id once
// and answers a repeat with its first answer. Refusals (4xx but 404/429)
// come back as *Refusal with folio-service's status and code only.
package folio

import (
	"context"
	"fmt"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Config is the folio-service part of a function's configuration.
type Config = upstream.FolioConfig

// Folio is a folio as a mutation needs it: its property, checked against
// the session's scope before anything is posted.
type Folio struct {
	FolioID       string `json:"folioId"`
	PropertyID    string `json:"propertyId"`
	ReservationID string `json:"reservationId"`
	Currency      string `json:"currency"`
}

// Posting is a posted adjustment or refund.
type Posting struct {
	PostingID   string `json:"postingId"`
	FolioID     string `json:"folioId"`
	Kind        string `json:"kind"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
}

// Request is one posting.
type Request struct {
	TenantID, PropertyID, FolioID string
	Kind                          string // "adjustments" or "refunds"
	RequestID                     string // folio-service's idempotency key
	AmountMinor                   int64
	Currency, Reason, PaymentID   string
}

// Refusal is folio-service turning a posting down.
type Refusal struct {
	Status int
	Code   string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("folio-service refused: %d %s", r.Status, r.Code)
}

// Client calls folio-service. Safe for concurrent use.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Folio, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Folio looks folio folID of the tenant up: an error matching
// httpc.ErrNotFound when the tenant has no such folio.
func (c *Client) Folio(ctx context.Context, tenantID, folID string) (Folio, error) {
	const op = "folio.Folio"
	f, err := httpc.GetPropertyItem(ctx, c.http, op, tenantID, "folios", "folio", ids.Folio, "folId", folID,
		func(f Folio) (string, string) { return f.FolioID, f.PropertyID })
	if err != nil {
		return Folio{}, err
	}
	if len(f.Currency) != 3 {
		return Folio{}, c.http.Unavailable(op, "malformed currency")
	}
	return f, nil
}

// Post posts r once per r.RequestID.
func (c *Client) Post(ctx context.Context, r Request) (Posting, error) {
	const op = "folio.Post"
	if err := wire.CheckProperty(r.TenantID, r.PropertyID); err != nil {
		return Posting{}, err
	}
	if (r.Kind != "adjustments" && r.Kind != "refunds") || !httpc.ValidRequestID(r.RequestID) {
		return Posting{}, fmt.Errorf("%s: bad request %q/%q", op, r.Kind, r.RequestID)
	}
	body := map[string]any{"amountMinor": r.AmountMinor, "currency": r.Currency, "reason": r.Reason}
	if r.PaymentID != "" {
		body["paymentId"] = r.PaymentID
	}
	var out Posting
	err := c.http.PostOnce(ctx, op, wire.PropertyPath(r.TenantID, r.PropertyID, "folios", r.FolioID, r.Kind), r.RequestID, body, &out)
	if status, code, ok := httpc.Refused(err); ok {
		return Posting{}, &Refusal{Status: status, Code: code}
	}
	switch {
	case err != nil:
		return Posting{}, err
	case out.FolioID != r.FolioID || out.AmountMinor != r.AmountMinor || out.Currency != r.Currency:
		return Posting{}, c.http.Unavailable(op, "answer for another posting")
	}
	return out, nil
}
