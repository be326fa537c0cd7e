// Package maintenance is the client of maintenance-service: the board of a
// property's work orders (docs/UPSTREAMS.md).
//
// Errors of Board: VALIDATION_FAILED for malformed ids (checked before any
// call); an error matching httpc.ErrNotFound when the service knows neither the
// tenant nor the property; UPSTREAM_UNAVAILABLE for timeouts (the earlier
// of ctx's deadline and Config.Timeout), connection failures, 5xx, 429 and
// answers that cannot be used; INTERNAL for other statuses.
//
// What is cleaned from answers (see shared/upstream/wire): a work order
// with an id other than wo_<ULID>, an unknown status or no usable
// reportedAt is dropped; an unknown priority becomes "normal"; a malformed
// roomNumber is cleared; text is stripped of control characters and
// truncated. A summary with a negative count is refused as
// UPSTREAM_UNAVAILABLE.
package maintenance

import (
	"context"
	"slices"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = upstream.MaintenanceService

// WorkOrderPrefix is the prefix of work order ids ("wo_<ULID>").
const WorkOrderPrefix ids.Prefix = "wo"

// Config is the maintenance-service part of a function's configuration; its
// variables are listed with every upstream's in shared/upstream.
type Config = upstream.MaintenanceConfig

// Status is a work order's status.
type Status string

// Work order statuses.
const (
	StatusOpen       Status = "open"
	StatusInProgress Status = "in_progress"
	StatusOnHold     Status = "on_hold"
	StatusDone       Status = "done"
)

// Valid reports whether s is a status this client knows.
func (s Status) Valid() bool {
	return slices.Contains([]Status{StatusOpen, StatusInProgress, StatusOnHold, StatusDone}, s)
}

// Priority is a work order's priority.
type Priority string

// Priorities.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Valid reports whether p is a priority this client knows.
func (p Priority) Valid() bool {
	return slices.Contains([]Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}, p)
}

// WorkOrder is one job on the board; RoomNumber is empty for jobs outside
// rooms (lobby, elevators, …).
type WorkOrder struct {
	ID         string        `json:"id"`
	RoomNumber string        `json:"roomNumber,omitempty"`
	Title      string        `json:"title"`
	Priority   Priority      `json:"priority"`
	Status     Status        `json:"status"`
	ReportedAt jsontime.Time `json:"reportedAt"`
	Assignee   string        `json:"assignee,omitempty"`
}

// Summary counts the work orders; Urgent counts urgent ones not done.
type Summary struct {
	Open       int `json:"open"`
	InProgress int `json:"inProgress"`
	Urgent     int `json:"urgent"`
}

// Board is the maintenance board of a property.
type Board struct {
	WorkOrders []WorkOrder `json:"workOrders"`
	Summary    Summary     `json:"summary"`
}

type workOrderDoc struct {
	WorkOrder
	ReportedAt string `json:"reportedAt"`
}

type boardDoc struct {
	WorkOrders []workOrderDoc `json:"workOrders"`
	Summary    Summary        `json:"summary"`
}

// Client calls maintenance-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg. httpc.WithHTTPClient sets the HTTP
// client (e.g. one adding ID tokens); the per-call timeout applies on top.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Maintenance, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Board returns the maintenance board of the property now.
func (c *Client) Board(ctx context.Context, tenantID, propertyID string) (Board, error) {
	const op = "maintenance.Board"
	doc, err := httpc.GetCounts[boardDoc](ctx, c.http, op, tenantID, propertyID, nil, "maintenance", "board")
	if err != nil {
		return Board{}, err
	}
	return Board{WorkOrders: wire.Keep(ctx, Service, op, doc.WorkOrders, cleanWorkOrder), Summary: doc.Summary}, nil
}

// cleanWorkOrder applies the package's rules to one work order; ok is
// false when it must be dropped.
func cleanWorkOrder(d workOrderDoc, rep *wire.Report) (WorkOrder, bool) {
	wo := d.WorkOrder
	reported, ok := wire.Instant(d.ReportedAt)
	switch {
	case !ids.Valid(WorkOrderPrefix, wo.ID):
		rep.Drop("id", wo.ID)
		return WorkOrder{}, false
	case !wo.Status.Valid():
		rep.Drop("status", string(wo.Status))
		return WorkOrder{}, false
	case !ok:
		rep.Drop("reportedAt", d.ReportedAt)
		return WorkOrder{}, false
	}
	wo.ReportedAt = reported
	wire.Default(rep, "priority", &wo.Priority, PriorityNormal)
	rep.Clear("roomNumber", &wo.RoomNumber, wire.ValidRoomNumber)
	wo.Title = wire.Text(wo.Title, 200)
	wo.Assignee = wire.Text(wo.Assignee, 120)
	return wo, true
}
