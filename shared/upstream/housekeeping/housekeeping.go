// Package housekeeping is the client of housekeeping-service: the board of
// a property's rooms (docs/UPSTREAMS.md).
//
// Errors of Board: VALIDATION_FAILED for malformed ids (checked before any
// call); an error matching httpc.ErrNotFound when the service knows neither the
// tenant nor the property; UPSTREAM_UNAVAILABLE for timeouts (the earlier
// of ctx's deadline and Config.Timeout), connection failures, 5xx, 429 and
// answers that cannot be used; INTERNAL for other statuses.
//
// What is cleaned from answers (see shared/upstream/wire): a room with no
// usable number or an unknown status (it could not be placed on the board)
// is dropped; an unknown priority becomes "normal"; a malformed updatedAt
// is cleared; text is stripped of control characters and truncated. A
// summary with a negative count is refused as UPSTREAM_UNAVAILABLE. The
// summary is the upstream's, not recounted from the rooms kept.
package housekeeping

import (
	"context"
	"slices"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = upstream.HousekeepingService

// Config is the housekeeping-service part of a function's configuration; its
// variables are listed with every upstream's in shared/upstream.
type Config = upstream.HousekeepingConfig

// RoomStatus is a room's housekeeping status.
type RoomStatus string

// Room statuses.
const (
	StatusClean      RoomStatus = "clean"
	StatusDirty      RoomStatus = "dirty"
	StatusInspected  RoomStatus = "inspected"
	StatusOutOfOrder RoomStatus = "out_of_order"
)

// Valid reports whether s is a status this client knows.
func (s RoomStatus) Valid() bool {
	return slices.Contains([]RoomStatus{StatusClean, StatusDirty, StatusInspected, StatusOutOfOrder}, s)
}

// Priority is how soon a room should be done.
type Priority string

// Priorities.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
)

// Valid reports whether p is a priority this client knows.
func (p Priority) Valid() bool {
	return p == PriorityLow || p == PriorityNormal || p == PriorityHigh
}

// Room is one room on the board.
type Room struct {
	RoomNumber string        `json:"roomNumber"`
	RoomType   string        `json:"roomType"`
	Status     RoomStatus    `json:"status"`
	Occupied   bool          `json:"occupied"`
	Assignee   string        `json:"assignee,omitempty"`
	Priority   Priority      `json:"priority"`
	UpdatedAt  jsontime.Time `json:"updatedAt,omitzero"`
}

// Summary counts the rooms by status.
type Summary struct {
	Clean      int `json:"clean"`
	Dirty      int `json:"dirty"`
	Inspected  int `json:"inspected"`
	OutOfOrder int `json:"outOfOrder"`
}

// Board is the housekeeping board of a property.
type Board struct {
	Rooms   []Room  `json:"rooms"`
	Summary Summary `json:"summary"`
}

type roomDoc struct {
	Room
	UpdatedAt string `json:"updatedAt"`
}

type boardDoc struct {
	Rooms   []roomDoc `json:"rooms"`
	Summary Summary   `json:"summary"`
}

// Client calls housekeeping-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg. httpc.WithHTTPClient sets the HTTP
// client (e.g. one adding ID tokens); the per-call timeout applies on top.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Housekeeping, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Board returns the housekeeping board of the property now.
func (c *Client) Board(ctx context.Context, tenantID, propertyID string) (Board, error) {
	const op = "housekeeping.Board"
	doc, err := httpc.GetCounts[boardDoc](ctx, c.http, op, tenantID, propertyID, nil, "housekeeping", "board")
	if err != nil {
		return Board{}, err
	}
	return Board{Rooms: wire.Keep(ctx, Service, op, doc.Rooms, cleanRoom), Summary: doc.Summary}, nil
}

// cleanRoom applies the package's rules to one room; ok is false when it
// must be dropped.
func cleanRoom(d roomDoc, rep *wire.Report) (Room, bool) {
	r := d.Room
	switch {
	case !wire.ValidRoomNumber(r.RoomNumber):
		rep.Drop("roomNumber", r.RoomNumber)
		return Room{}, false
	case !r.Status.Valid():
		rep.Drop("status", string(r.Status))
		return Room{}, false
	}
	wire.Default(rep, "priority", &r.Priority, PriorityNormal)
	r.RoomType = wire.Text(r.RoomType, 64)
	r.Assignee = wire.Text(r.Assignee, 120)
	r.UpdatedAt = rep.OptionalInstant("updatedAt", d.UpdatedAt)
	return r, true
}
