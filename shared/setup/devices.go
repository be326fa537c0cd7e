package setup

import (
	"errors"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/preferences"
	"github.com/melmastoon/bff-backoffice/shared/shortcuts"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
)

// DevicesConfig is the devices functions' own configuration. The device
// list's cursors are signed as every list's are (ListCursors).
type DevicesConfig struct {
	// SampleRate is the share of heartbeats announced as
	// device.heartbeat.v1: telemetry of a report every desktop sends every
	// few seconds.
	SampleRate float64 `env:"HEARTBEAT_EVENT_SAMPLE_RATE, default=0.1"`
}

// Validate checks the config without connecting.
func (c *DevicesConfig) Validate() error {
	if c.SampleRate < 0 || c.SampleRate > 1 {
		return errors.New("HEARTBEAT_EVENT_SAMPLE_RATE must be within 0..1")
	}
	return nil
}

// Devices is the devices service over the gate's Postgres and Redis.
func (b *Builder) Devices() *devices.Service {
	var cfg DevicesConfig
	if err := config.LoadFrom(b.Ctx, b.L, &cfg); err != nil {
		b.Fail(err)
		return &devices.Service{}
	}
	return devices.New(devices.Deps{
		DB: b.Res.DB, Redis: b.Res.Redis, Cursors: b.ListCursors(), HeartbeatSampleRate: cfg.SampleRate,
	})
}

// SyncClient is sync-service's client, for the sync functions.
func (b *Builder) SyncClient() *syncsvc.Client {
	c := dialFor(b, "sync", syncsvc.NewClient)
	if c == nil {
		return &syncsvc.Client{}
	}
	return c
}

// Preferences is the operator preferences' mirror over the gate's Redis,
// with tenant-service (their owner) dialled from the gate's configuration.
func (b *Builder) Preferences() *preferences.Service {
	tc := b.tenantClient()
	if tc == nil {
		return &preferences.Service{}
	}
	return &preferences.Service{Redis: b.Res.Redis, Owner: tc}
}

// Shortcuts is the keyboard-shortcut overrides' mirror over the gate's
// Redis, with tenant-service (their owner) dialled from the gate's
// configuration.
func (b *Builder) Shortcuts() *shortcuts.Service {
	tc := b.tenantClient()
	if tc == nil {
		return &shortcuts.Service{}
	}
	return &shortcuts.Service{Redis: b.Res.Redis, Owner: tc}
}

// tenantClient is tenant-service's client (TENANT_SERVICE_URL, as the gate
// reads it): nil (and the builder failed) when it cannot be built.
func (b *Builder) tenantClient() *tenant.Client {
	return dialFor(b, "tenant", func(cfg tenant.Config, _ ...httpc.Option) (*tenant.Client, error) { return tenant.NewClient(cfg) })
}
