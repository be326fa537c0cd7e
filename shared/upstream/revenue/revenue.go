// Package revenue is the client of revenue-service: a property's occupancy
// and revenue of a day (docs/UPSTREAMS.md).
//
// Errors of every method: VALIDATION_FAILED for malformed ids or dates
// (checked before any call); an error matching httpc.ErrNotFound when the
// service knows neither the tenant nor the property; UPSTREAM_UNAVAILABLE
// for timeouts (the earlier of ctx's deadline and Config.Timeout),
// connection failures, 5xx, 429 and answers that cannot be used; INTERNAL
// for other statuses.
//
// These answers are all figures, so nothing is dropped: an answer for
// another date, a negative count, an occupancy outside 0–100 %, money that
// is not a decimal amount, or amounts in different currencies is refused as
// UPSTREAM_UNAVAILABLE.
package revenue

import (
	"context"
	"math"

	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = upstream.RevenueService

// Config is the revenue-service part of a function's configuration; its
// variables are listed with every upstream's in shared/upstream.
type Config = upstream.RevenueConfig

// Occupancy is a property's occupancy on a date. ADR is room revenue per
// occupied room, RevPAR per available room.
type Occupancy struct {
	Date          string     `json:"date"`
	RoomsTotal    int        `json:"roomsTotal"`
	RoomsOccupied int        `json:"roomsOccupied"`
	OccupancyPct  float64    `json:"occupancyPct"`
	ADR           wire.Money `json:"adr"`
	RevPAR        wire.Money `json:"revpar"`
}

// Revenue is a property's revenue on a date and in its month up to it.
type Revenue struct {
	Date         string     `json:"date"`
	RoomRevenue  wire.Money `json:"roomRevenue"`
	OtherRevenue wire.Money `json:"otherRevenue"`
	MonthToDate  wire.Money `json:"monthToDate"`
}

// Client calls revenue-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg. httpc.WithHTTPClient sets the HTTP
// client (e.g. one adding ID tokens); the per-call timeout applies on top.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Revenue, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Occupancy returns the occupancy of date ("YYYY-MM-DD") at the property.
func (c *Client) Occupancy(ctx context.Context, tenantID, propertyID, date string) (Occupancy, error) {
	const op = "revenue.Occupancy"
	doc, err := httpc.GetDay(ctx, c.http, op, tenantID, propertyID, date, func(o Occupancy) string { return o.Date }, "occupancy")
	if err != nil {
		return Occupancy{}, err
	}
	switch {
	case doc.RoomsTotal < 0 || doc.RoomsOccupied < 0:
		return Occupancy{}, c.http.Unavailable(op, "negative room counts")
	case math.IsNaN(doc.OccupancyPct) || doc.OccupancyPct < 0 || doc.OccupancyPct > 100:
		return Occupancy{}, c.http.Unavailable(op, "occupancyPct %v is not a percentage", doc.OccupancyPct)
	}
	if err := c.money(op, doc.ADR, doc.RevPAR); err != nil {
		return Occupancy{}, err
	}
	return doc, nil
}

// Revenue returns the revenue of date ("YYYY-MM-DD") at the property.
func (c *Client) Revenue(ctx context.Context, tenantID, propertyID, date string) (Revenue, error) {
	const op = "revenue.Revenue"
	doc, err := httpc.GetDay(ctx, c.http, op, tenantID, propertyID, date, func(r Revenue) string { return r.Date }, "revenue")
	if err != nil {
		return Revenue{}, err
	}
	if err := c.money(op, doc.RoomRevenue, doc.OtherRevenue, doc.MonthToDate); err != nil {
		return Revenue{}, err
	}
	return doc, nil
}

// money checks that every amount is money and all are in one currency: a
// figure in the wrong currency is worse than none.
func (c *Client) money(op string, ms ...wire.Money) error {
	for _, m := range ms {
		if !m.Valid() {
			return c.http.Unavailable(op, "%q is not money", m.String())
		}
		if m.Currency != ms[0].Currency {
			return c.http.Unavailable(op, "amounts in %s and %s", ms[0].Currency, m.Currency)
		}
	}
	return nil
}
