// Package syncsvc is the client of sync-service: how the desktops of a
// property are keeping up (docs/UPSTREAMS.md). Named syncsvc so it does not
// shadow the standard library's sync.
//
// Errors of DevicesStatus: VALIDATION_FAILED for malformed ids (checked
// before any call); an error matching ErrNotFound when the service knows
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
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Service is the upstream's name in errors.
const Service = "sync-service"

// Config is the sync-service part of a function's configuration.
type Config struct {
	URL     string        `env:"SYNC_SERVICE_URL, required"`
	Timeout time.Duration `env:"SYNC_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c Config) Validate() error {
	return errors.Join(
		httpc.ValidateURL("SYNC_SERVICE_URL", c.URL),
		httpc.ValidateTimeout("SYNC_SERVICE_TIMEOUT", c.Timeout),
	)
}

// Option tunes a Client.
type Option = httpc.Option

// WithHTTPClient sets the HTTP client (e.g. one adding ID tokens); the
// per-call timeout applies on top of its own.
func WithHTTPClient(hc *http.Client) Option { return httpc.WithHTTPClient(hc) }

// ErrNotFound is matched (errors.Is) by the *NotFoundError of an unknown
// tenant or property.
var ErrNotFound = httpc.ErrNotFound

// NotFoundError is sync-service's 404.
type NotFoundError = httpc.NotFoundError

// Client calls sync-service. Safe for concurrent use; build one per instance.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("syncsvc.NewClient: %w", err)
	}
	h, err := httpc.New(Service, cfg.URL, cfg.Timeout, opts...)
	if err != nil {
		return nil, fmt.Errorf("syncsvc.NewClient: %w", err)
	}
	return &Client{http: h}, nil
}

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

type statusDoc struct {
	Devices []struct {
		Device
		LastSeenAt string `json:"lastSeenAt"`
	} `json:"devices"`
	Summary Summary `json:"summary"`
}

// DevicesStatus returns the sync status of the property's desktops now.
func (c *Client) DevicesStatus(ctx context.Context, tenantID, propertyID string) (DevicesStatus, error) {
	const op = "syncsvc.DevicesStatus"
	if err := wire.CheckProperty(tenantID, propertyID); err != nil {
		return DevicesStatus{}, err
	}
	var doc statusDoc
	if err := c.http.GetJSON(ctx, op, wire.PropertyPath(tenantID, propertyID, "devices", "status"), nil, &doc); err != nil {
		return DevicesStatus{}, err
	}
	s := doc.Summary
	if bad := wire.Negative(map[string]int{"online": s.Online, "lagging": s.Lagging, "offline": s.Offline}); bad != "" {
		return DevicesStatus{}, c.http.Unavailable(op, "summary.%s is negative", bad)
	}
	var rep wire.Report
	out := DevicesStatus{Devices: make([]Device, 0, len(doc.Devices)), Summary: s}
	for _, d := range doc.Devices {
		dv := d.Device
		seen, ok := wire.Instant(d.LastSeenAt)
		switch {
		case !ids.Valid(ids.Device, dv.DeviceID):
			rep.Drop("deviceId", dv.DeviceID)
			continue
		case !ok:
			rep.Drop("lastSeenAt", d.LastSeenAt)
			continue
		case dv.PendingPush < 0 || dv.LagSeconds < 0:
			rep.Drop("pendingPush/lagSeconds", dv.DeviceID)
			continue
		}
		dv.LastSeenAt = seen
		out.Devices = append(out.Devices, dv)
	}
	rep.Log(ctx, Service, op)
	return out, nil
}
