package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/melmastoon/bff-backoffice/shared/compose"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/devices"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/housekeeping"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/maintenance"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/reservation"
	"github.com/melmastoon/bff-backoffice/shared/upstream/revenue"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// Upstream names a view function may need.
const (
	UpReservation  = "reservation"
	UpHousekeeping = "housekeeping"
	UpMaintenance  = "maintenance"
	UpRevenue      = "revenue"
	UpAI           = "ai-orchestrator"
	UpNotification = "notification"
	// UpSync is the syncStatus widget's source: the BFF's own device
	// records (bff.device_sync, heartbeats), not sync-service.
	UpSync = "sync"
)

// AllUpstreams is what the dashboard needs.
var AllUpstreams = []string{UpReservation, UpHousekeeping, UpMaintenance, UpRevenue, UpAI, UpNotification, UpSync}

// ViewsConfig tunes the composition functions.
type ViewsConfig struct {
	SampleRate float64 `env:"VIEW_EVENT_SAMPLE_RATE, default=1"`
	// The composition's budgets: production keeps the defaults; a test
	// stack on a loaded machine widens them (with its upstream timeouts).
	WidgetBudget time.Duration `env:"VIEW_WIDGET_BUDGET, default=300ms"`
	TotalBudget  time.Duration `env:"VIEW_TOTAL_BUDGET, default=800ms"`
	Tenant       tenant.Config
}

// Validate checks the config.
func (c *ViewsConfig) Validate() error {
	var errs []error
	if c.SampleRate < 0 || c.SampleRate > 1 {
		errs = append(errs, errors.New("VIEW_EVENT_SAMPLE_RATE must be within 0..1"))
	}
	if c.WidgetBudget < 10*time.Millisecond || c.TotalBudget > 10*time.Second || c.WidgetBudget >= c.TotalBudget {
		errs = append(errs, errors.New("VIEW_WIDGET_BUDGET must be at least 10ms and below VIEW_TOTAL_BUDGET, which must be at most 10s"))
	}
	return errors.Join(errs...)
}

// Views builds the views service of a function that reads from the
// upstreams needs names, next to its gate, from configuration looked up in
// l. Only the clients of needs are configured, so a function asks only for
// the URLs it uses.
func Views(ctx context.Context, l envconfig.Lookuper, log *slog.Logger, res *Resources, needs ...string) (_ *views.Service, err error) {
	defer derrors.Wrap(&err, "setup.Views")
	var cfg ViewsConfig
	if err := config.LoadFrom(ctx, l, &cfg); err != nil {
		return nil, err
	}
	tc, err := tenant.NewClient(cfg.Tenant)
	if err != nil {
		return nil, err
	}
	src := &views.Sources{}
	for _, n := range needs {
		if err := addSource(ctx, l, src, n); err != nil {
			return nil, err
		}
	}
	if slices.Contains(needs, UpSync) {
		src.Devices = devices.New(devices.Deps{DB: res.DB, Redis: res.Redis})
	}
	return &views.Service{
		Composer:   compose.New(res.Redis, compose.Options{}),
		Sources:    src,
		Calendar:   &views.Calendar{Tenant: tc},
		SampleRate: cfg.SampleRate,
		Publisher:  res.Publisher,
		Widget:     cfg.WidgetBudget,
		Total:      cfg.TotalBudget,
	}, nil
}

func addSource(ctx context.Context, l envconfig.Lookuper, src *views.Sources, name string) error {
	var err error
	switch name {
	case UpReservation:
		src.Reservation, err = dial(ctx, l, reservation.NewClient)
	case UpHousekeeping:
		src.Housekeeping, err = dial(ctx, l, housekeeping.NewClient)
	case UpMaintenance:
		src.Maintenance, err = dial(ctx, l, maintenance.NewClient)
	case UpRevenue:
		src.Revenue, err = dial(ctx, l, revenue.NewClient)
	case UpAI:
		src.AI, err = dial(ctx, l, aiorchestrator.NewClient)
	case UpNotification:
		src.Notification, err = dial(ctx, l, notification.NewClient)
	case UpSync:
		// Built from the function's own stores by Views.
	default:
		return fmt.Errorf("unknown upstream %q", name)
	}
	if err != nil {
		return fmt.Errorf("%s client: %w", name, err)
	}
	return nil
}

// dialFor is dial for a Builder's openers: the client, or nil with the
// builder failed on the error, which names the client.
func dialFor[C, T any](b *Builder, name string, newClient func(C, ...httpc.Option) (*T, error)) *T {
	c, err := dial(b.Ctx, b.L, newClient)
	if err != nil {
		b.Fail(fmt.Errorf("%s client: %w", name, err))
		return nil
	}
	return c
}

// dial loads an upstream client's Config from l, as config.LoadFrom does
// (its variables and Validate), and builds the client with newClient.
func dial[C, T any](ctx context.Context, l envconfig.Lookuper, newClient func(C, ...httpc.Option) (T, error)) (T, error) {
	var cfg C
	if err := config.LoadFrom(ctx, l, &cfg); err != nil {
		var zero T
		return zero, err
	}
	return newClient(cfg)
}
