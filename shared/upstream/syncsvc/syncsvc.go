// Package syncsvc is the client of sync-service: how the desktops of a
// property are keeping up (docs/UPSTREAMS.md). Named syncsvc so it does not
// shadow the standard library's sync.
//
// Errors of DevicesStatus: VALIDATION_FAILED for malformed ids (checked
// before any call); an error matching httpc.ErrNotFound when the service knows
// neither the tenant nor the property; UPSTREAM_UNAVAILABLE for timeouts
// (the earlier of ctx's deadline and Config.Timeout), connection failures,
// 5xx, 429 and answers that cannot be used; INTERNAL for other statuses.
//
// What is cleaned from answers (see shared/upstream/wire): a device with
// an id other than dev_<ULID>, no usable lastSeenAt or negative counters is
// dropped. A summary with a negative count is refused as
// UPSTREAM_UNAVAILABLE.
package syncsvc

import (
	"context"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = upstream.SyncService

// Config is the sync-service part of a function's configuration; its
// variables are listed with every upstream's in shared/upstream.
type Config = upstream.SyncConfig

// Device is one desktop install as sync-service sees it.
type Device struct {
	DeviceID    string        `json:"deviceId"`
	LastSeenAt  jsontime.Time `json:"lastSeenAt"`
	PendingPush int           `json:"pendingPush"`
	LagSeconds  int           `json:"lagSeconds"`
}

// Summary counts the devices by sync-service's classification.
type Summary struct {
	Online  int `json:"online"`
	Lagging int `json:"lagging"`
	Offline int `json:"offline"`
}

// DevicesStatus is the sync status of a property's desktops.
type DevicesStatus struct {
	Devices []Device `json:"devices"`
	Summary Summary  `json:"summary"`
}

type deviceDoc struct {
	Device
	LastSeenAt string `json:"lastSeenAt"`
}

type statusDoc struct {
	Devices []deviceDoc `json:"devices"`
	Summary Summary     `json:"summary"`
}

// Client calls sync-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg. httpc.WithHTTPClient sets the HTTP
// client (e.g. one adding ID tokens); the per-call timeout applies on top.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Sync, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// DevicesStatus returns the sync status of the property's desktops now.
func (c *Client) DevicesStatus(ctx context.Context, tenantID, propertyID string) (DevicesStatus, error) {
	const op = "syncsvc.DevicesStatus"
	doc, err := httpc.GetCounts[statusDoc](ctx, c.http, op, tenantID, propertyID, nil, "devices", "status")
	if err != nil {
		return DevicesStatus{}, err
	}
	return DevicesStatus{Devices: wire.Keep(ctx, Service, op, doc.Devices, cleanDevice), Summary: doc.Summary}, nil
}

// cleanDevice applies the package's rules to one device; ok is false when
// it must be dropped.
func cleanDevice(d deviceDoc, rep *wire.Report) (Device, bool) {
	dv := d.Device
	seen, ok := wire.Instant(d.LastSeenAt)
	switch {
	case !ids.Valid(ids.Device, dv.DeviceID):
		rep.Drop("deviceId", dv.DeviceID)
		return Device{}, false
	case !ok:
		rep.Drop("lastSeenAt", d.LastSeenAt)
		return Device{}, false
	case dv.PendingPush < 0 || dv.LagSeconds < 0:
		rep.Drop("pendingPush/lagSeconds", dv.DeviceID)
		return Device{}, false
	}
	dv.LastSeenAt = seen
	return dv, true
}
