// Package reservation is the client of reservation-service: the day's
// arrivals, departures and in-house guests of a property
// (docs/UPSTREAMS.md).
//
// Errors of every method: VALIDATION_FAILED for malformed ids or dates
// (checked before any call); an error matching httpc.ErrNotFound when the
// service knows neither the tenant nor the property; UPSTREAM_UNAVAILABLE
// for timeouts (the earlier of ctx's deadline and Config.Timeout),
// connection failures, 5xx, 429 and answers that cannot be used; INTERNAL
// for other statuses.
//
// What is cleaned from answers (see shared/upstream/wire): a stay with a
// malformed reservationId, an unknown status, malformed dates, negative
// counts or invalid money is dropped; a malformed folioId, roomNumber or eta
// is cleared; names, room types and notes are stripped of control
// characters and truncated. A summary with a negative count, or an answer
// for another date, is refused as UPSTREAM_UNAVAILABLE.
package reservation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = upstream.ReservationService

// Config is the reservation-service part of a function's configuration; its
// variables are listed with every upstream's in shared/upstream.
type Config = upstream.ReservationConfig

// Status is a stay's status.
type Status string

// Stay statuses.
const (
	StatusExpected   Status = "expected"
	StatusCheckedIn  Status = "checked_in"
	StatusCheckedOut Status = "checked_out"
	StatusNoShow     Status = "no_show"
	StatusCancelled  Status = "cancelled"
)

// Valid reports whether s is a status this client knows.
func (s Status) Valid() bool {
	return slices.Contains([]Status{StatusExpected, StatusCheckedIn, StatusCheckedOut, StatusNoShow, StatusCancelled}, s)
}

// Today is the summary of a property's day.
type Today struct {
	Date           string          `json:"date"`
	Arrivals       ArrivalCounts   `json:"arrivals"`
	Departures     DepartureCounts `json:"departures"`
	InHouse        int             `json:"inHouse"`
	NoShows        int             `json:"noShows"`
	RoomsTotal     int             `json:"roomsTotal"`
	RoomsAvailable int             `json:"roomsAvailable"`
}

// ArrivalCounts counts the day's arrivals; Expected is all of them.
type ArrivalCounts struct {
	Expected  int `json:"expected"`
	CheckedIn int `json:"checkedIn"`
}

// DepartureCounts counts the day's departures; Expected is all of them.
type DepartureCounts struct {
	Expected   int `json:"expected"`
	CheckedOut int `json:"checkedOut"`
}

// Stay is one reservation's stay at the property.
type Stay struct {
	ReservationID string        `json:"reservationId"`
	GuestName     string        `json:"guestName"`
	RoomNumber    string        `json:"roomNumber,omitempty"`
	RoomType      string        `json:"roomType"`
	Status        Status        `json:"status"`
	ArrivalDate   string        `json:"arrivalDate"`
	DepartureDate string        `json:"departureDate"`
	ETA           jsontime.Time `json:"eta,omitzero"`
	Nights        int           `json:"nights"`
	Adults        int           `json:"adults"`
	Children      int           `json:"children"`
	VIP           bool          `json:"vip"`
	BalanceDue    wire.Money    `json:"balanceDue"`
	FolioID       string        `json:"folioId,omitempty"`
	Notes         string        `json:"notes,omitempty"`
}

// Stays is a list of stays; Date is set for a day's arrivals or departures.
type Stays struct {
	Date  string `json:"date,omitempty"`
	Items []Stay `json:"items"`
}

// Client calls reservation-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg. httpc.WithHTTPClient sets the HTTP
// client (e.g. one adding ID tokens); the per-call timeout applies on top.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Reservation, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Today returns the summary of date ("YYYY-MM-DD", the property's civil
// date) at the property.
func (c *Client) Today(ctx context.Context, tenantID, propertyID, date string) (Today, error) {
	const op = "reservation.Today"
	doc, err := httpc.GetDay(ctx, c.http, op, tenantID, propertyID, date, func(t Today) string { return t.Date }, "today")
	if err != nil {
		return Today{}, err
	}
	if err := c.http.NonNegative(op, doc); err != nil {
		return Today{}, err
	}
	return doc, nil
}

// Arrivals returns the stays arriving on date.
func (c *Client) Arrivals(ctx context.Context, tenantID, propertyID, date string) (Stays, error) {
	return c.dayList(ctx, "reservation.Arrivals", "arrivals", tenantID, propertyID, date)
}

// Departures returns the stays departing on date.
func (c *Client) Departures(ctx context.Context, tenantID, propertyID, date string) (Stays, error) {
	return c.dayList(ctx, "reservation.Departures", "departures", tenantID, propertyID, date)
}

// InHouse returns the guests in house now.
func (c *Client) InHouse(ctx context.Context, tenantID, propertyID string) (Stays, error) {
	const op = "reservation.InHouse"
	items, err := httpc.GetItems(ctx, c.http, op, tenantID, propertyID, nil, cleanStay, "in-house")
	if err != nil {
		return Stays{}, err
	}
	return Stays{Items: items}, nil
}

func (c *Client) dayList(ctx context.Context, op, resource, tenantID, propertyID, date string) (Stays, error) {
	doc, err := httpc.GetDay(ctx, c.http, op, tenantID, propertyID, date, func(l stayList) string { return l.Date }, resource)
	if err != nil {
		return Stays{}, err
	}
	return Stays{Date: date, Items: wire.Keep(ctx, Service, op, doc.Items, cleanStay)}, nil
}

// stayList and stayDoc are the wire forms; timestamps stay strings until
// checked so one bad eta does not sink the list.
type stayList struct {
	Date  string    `json:"date"`
	Items []stayDoc `json:"items"`
}

type stayDoc struct {
	Stay
	ETA string `json:"eta"`
}

const (
	maxName  = 120
	maxType  = 64
	maxNotes = 500
)

// cleanStay applies the package's rules to one stay; ok is false when it
// must be dropped.
func cleanStay(d stayDoc, rep *wire.Report) (Stay, bool) {
	s := d.Stay
	switch {
	case !ids.Valid(ids.Reservation, s.ReservationID):
		rep.Drop("reservationId", s.ReservationID)
		return Stay{}, false
	case !s.Status.Valid():
		rep.Drop("status", string(s.Status))
		return Stay{}, false
	case !wire.ValidDate(s.ArrivalDate) || !wire.ValidDate(s.DepartureDate) || s.DepartureDate < s.ArrivalDate:
		rep.Drop("arrivalDate/departureDate", s.ArrivalDate+"/"+s.DepartureDate)
		return Stay{}, false
	case s.Nights < 0 || s.Adults < 0 || s.Children < 0:
		rep.Drop("nights/adults/children", s.ReservationID)
		return Stay{}, false
	case !s.BalanceDue.Valid():
		rep.Drop("balanceDue", s.BalanceDue.String())
		return Stay{}, false
	}
	s.GuestName = wire.Text(s.GuestName, maxName)
	s.RoomType = wire.Text(s.RoomType, maxType)
	s.Notes = wire.Text(s.Notes, maxNotes)
	rep.Clear("roomNumber", &s.RoomNumber, wire.ValidRoomNumber)
	rep.Clear("folioId", &s.FolioID, func(id string) bool { return ids.Valid(ids.Folio, id) })
	s.ETA = rep.OptionalInstant("eta", d.ETA)
	return s, true
}

// Booking is one reservation as the mutations need it: which property it
// belongs to (checked against the session's scope before anything is
// sent), its status and room.
type Booking struct {
	ReservationID string `json:"reservationId"`
	PropertyID    string `json:"propertyId"`
	Status        Status `json:"status"`
	RoomNumber    string `json:"roomNumber,omitempty"`
	FolioID       string `json:"folioId,omitempty"`
}

// Reservation looks reservation rsvID of the tenant up: an error matching
// httpc.ErrNotFound when the tenant has no such reservation.
func (c *Client) Reservation(ctx context.Context, tenantID, rsvID string) (Booking, error) {
	const op = "reservation.Reservation"
	b, err := httpc.GetPropertyItem(ctx, c.http, op, tenantID, "reservations", "reservation", ids.Reservation, "rsvId", rsvID,
		func(b Booking) (string, string) { return b.ReservationID, b.PropertyID })
	if err != nil {
		return Booking{}, err
	}
	switch {
	case !b.Status.Valid():
		return Booking{}, c.http.Unavailable(op, "unknown status")
	case len(b.RoomNumber) > 16:
		b.RoomNumber = ""
	}
	return b, nil
}

// Stay mutations reservation-service performs, as its paths name them.
const (
	ActionCheckIn       = "check-in"
	ActionCheckOut      = "check-out"
	ActionForceCheckout = "force-checkout"
)

// ValidAction reports whether a is a stay mutation.
func ValidAction(a string) bool {
	return a == ActionCheckIn || a == ActionCheckOut || a == ActionForceCheckout
}

// ActRequest is one stay mutation.
type ActRequest struct {
	TenantID, PropertyID, ReservationID string
	Action                              string
	RequestID                           string // reservation-service's idempotency key
	Reason                              string // force-checkout only
}

// Acted is reservation-service's answer to a stay mutation: the stay's new
// status.
type Acted struct {
	ReservationID string `json:"reservationId"`
	PropertyID    string `json:"propertyId"`
	Status        Status `json:"status"`
}

// Refusal is reservation-service turning a mutation down: its status and
// code only, never its text.
type Refusal struct {
	Status int
	Code   string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("reservation-service refused: %d %s", r.Status, r.Code)
}

// Act performs r once per r.RequestID: reservation-service answers a
// repeated request id with its first answer. Errors: *Refusal for a 4xx
// refusal (404 when the reservation is not the property's, 409 when its
// state forbids the action); UPSTREAM_UNAVAILABLE as for every method — the
// caller cannot tell whether the mutation happened, and a retry with the
// same RequestID is safe.
func (c *Client) Act(ctx context.Context, r ActRequest) (Acted, error) {
	const op = "reservation.Act"
	if err := wire.CheckProperty(r.TenantID, r.PropertyID); err != nil {
		return Acted{}, err
	}
	if ids.Check(ids.Reservation, r.ReservationID) != nil || !ValidAction(r.Action) || !httpc.ValidRequestID(r.RequestID) {
		return Acted{}, fmt.Errorf("%s: bad request %q/%q/%q", op, r.ReservationID, r.Action, r.RequestID)
	}
	body := map[string]any{}
	if r.Action == ActionForceCheckout {
		body["reason"] = r.Reason
	}
	var out Acted
	err := c.http.PostOnce(ctx, op, wire.PropertyPath(r.TenantID, r.PropertyID, "reservations", r.ReservationID, r.Action), r.RequestID, body, &out)
	if status, code, ok := httpc.Refused(err); ok {
		return Acted{}, &Refusal{Status: status, Code: code}
	}
	switch {
	case errors.Is(err, httpc.ErrNotFound):
		return Acted{}, &Refusal{Status: http.StatusNotFound}
	case err != nil:
		return Acted{}, err
	case out.ReservationID != r.ReservationID || out.PropertyID != r.PropertyID:
		return Acted{}, c.http.Unavailable(op, "answer for another reservation")
	case !out.Status.Valid():
		return Acted{}, c.http.Unavailable(op, "unknown status")
	}
	return out, nil
}
