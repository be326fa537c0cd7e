// Package setup builds, from configuration, the dependencies functions
// share: the authenticated request gate for HTTP functions and the
// Redis/session/publisher set for consumers. It is the only place that
// knows how the pieces are wired, so functions stay decode → authorize →
// call → encode.
package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sethvargo/go-envconfig"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	pubsubevents "github.com/melmastoon/bff-backoffice/shared/events/pubsub"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// GateConfig is the configuration of every HTTP function.
type GateConfig struct {
	ProjectID  string `env:"GOOGLE_CLOUD_PROJECT, required"`
	PIIHashKey string `env:"PII_HASH_KEY, required"`
	// ProxyHops is gate.Gate.ProxyHops: the external load balancer
	// appends two entries to X-Forwarded-For.
	ProxyHops int `env:"TRUSTED_PROXY_HOPS, default=2"`
	Auth      auth.Config
	Redis     redisx.Config
	Postgres  pg.Config
	Tenant    tenant.Config
}

// Validate joins every problem, so one deploy shows them all.
func (c *GateConfig) Validate() error {
	var errs []error
	if len(c.PIIHashKey) < 32 {
		errs = append(errs, errors.New("PII_HASH_KEY must be at least 32 characters"))
	}
	if c.ProxyHops < 0 || c.ProxyHops > 5 {
		errs = append(errs, errors.New("TRUSTED_PROXY_HOPS must be within 0..5"))
	}
	for _, v := range []config.Validator{c.Auth, c.Redis, c.Postgres, c.Tenant} {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Closer releases what a builder opened.
type Closer func()

// Resources are the clients behind a gate, for functions that need them
// directly (their own transactions, Redis keys).
type Resources struct {
	DB    *pg.DB
	Redis *redisx.Client
	// Publisher is the gate's: telemetry the library emits itself (view
	// events) goes out through it.
	Publisher events.Publisher
	close     []func()
	drain     []func()
}

// Close releases the clients; the gate is unusable afterwards.
func (r *Resources) Close() {
	for i := len(r.close) - 1; i >= 0; i-- {
		r.close[i]()
	}
}

// Gate builds the gate from configuration looked up in l.
//
// Functions a process hosts with the same configuration share one gate and
// its clients, as the functions of one instance should: a deployed instance
// hosts one function and builds one; the dev server hosts them all, and
// builds one instead of one per function (with a Pub/Sub client, a JWKS
// refresher and pools each). Each caller gets Resources of its own; the
// shared clients close with the last of them.
func Gate(ctx context.Context, l envconfig.Lookuper, log *slog.Logger) (_ *gate.Gate, _ *Resources, err error) {
	defer derrors.Wrap(&err, "setup.Gate")
	var cfg GateConfig
	if err := config.LoadFrom(ctx, l, &cfg); err != nil {
		return nil, nil, err
	}
	key := fmt.Sprintf("%#v", cfg)
	gates.mu.Lock()
	defer gates.mu.Unlock()
	sg, ok := gates.m[key]
	if !ok {
		g, res, err := newGate(ctx, cfg, log)
		if err != nil {
			return nil, nil, err
		}
		sg = &sharedGate{g: g, res: res}
		gates.m[key] = sg
	}
	sg.refs++
	var once sync.Once
	release := func() {
		once.Do(func() {
			gates.mu.Lock()
			defer gates.mu.Unlock()
			if sg.refs--; sg.refs == 0 {
				delete(gates.m, key)
				sg.res.Close()
			}
		})
	}
	return sg.g, &Resources{DB: sg.res.DB, Redis: sg.res.Redis, Publisher: sg.res.Publisher, close: []func(){release}}, nil
}

// gates are the gates this process built, by configuration.
var gates = struct {
	mu sync.Mutex
	m  map[string]*sharedGate
}{m: map[string]*sharedGate{}}

type sharedGate struct {
	g    *gate.Gate
	res  *Resources
	refs int
}

func newGate(ctx context.Context, cfg GateConfig, log *slog.Logger) (*gate.Gate, *Resources, error) {
	var closers []func()
	fail := func(err error) (*gate.Gate, *Resources, error) {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil, nil, err
	}
	// The verifier refreshes keys in the background for the instance's
	// life; ctx here is only the start-up deadline. Close stops it.
	v, err := auth.NewVerifier(context.WithoutCancel(ctx), cfg.Auth)
	if err != nil {
		return fail(fmt.Errorf("verifier: %w", err))
	}
	closers = append(closers, v.Close)
	rdb, err := redisx.Open(ctx, cfg.Redis)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = rdb.Close() })
	db, err := pg.Open(ctx, cfg.Postgres)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, db.Close)
	tc, err := tenant.NewClient(cfg.Tenant)
	if err != nil {
		return fail(fmt.Errorf("tenant client: %w", err))
	}
	pub, err := pubsubevents.NewPublisher(ctx, cfg.ProjectID, pubsubevents.Options{})
	if err != nil {
		return fail(err)
	}
	ledger := activity.NewLedger(db, activity.Options{})
	closers = append(closers, func() { _ = pub.Close() }, ledger.Close)
	g := &gate.Gate{
		Verifier:  v,
		Sessions:  session.NewManager(rdb, TenantAccess{tc}, session.Options{PIIKey: []byte(cfg.PIIHashKey)}),
		Ledger:    ledger,
		Publisher: pub,
		Log:       log,
		ProxyHops: cfg.ProxyHops,
	}
	return g, &Resources{DB: db, Redis: rdb, Publisher: pub, close: closers}, nil
}

// TenantAccess adapts the tenant-service client to the session manager.
type TenantAccess struct{ C *tenant.Client }

// OperatorAccess implements session.AccessSource.
func (t TenantAccess) OperatorAccess(ctx context.Context, tenantID, operatorID string) (session.Access, error) {
	a, err := t.C.OperatorAccess(ctx, tenantID, operatorID)
	if errors.Is(err, tenant.ErrNotFound) {
		return session.Access{}, session.ErrNoAccess
	}
	if err != nil {
		return session.Access{}, err
	}
	return session.Access{Roles: a.Roles, PropertyScope: a.PropertyScope, PrimaryPropertyID: a.PrimaryPropertyID}, nil
}

// TenantLimits implements session.LimitSource: the tenant's rate limits
// from its config in tenant-service.
func (t TenantAccess) TenantLimits(ctx context.Context, tenantID string) (session.Limits, error) {
	c, err := t.C.Config(ctx, tenantID)
	if err != nil {
		return session.Limits{}, err
	}
	rl := c.RateLimits
	return session.Limits{DevicePerSecond: rl.DevicePerSecond, DeviceBurst: rl.DeviceBurst, TenantPerSecond: rl.TenantPerSecond}, nil
}

// ConsumerConfig is the configuration of event consumers that touch
// sessions.
type ConsumerConfig struct {
	ProjectID  string `env:"GOOGLE_CLOUD_PROJECT, required"`
	PIIHashKey string `env:"PII_HASH_KEY"`
	Redis      redisx.Config
}

// Validate checks the config.
func (c *ConsumerConfig) Validate() error { return c.Redis.Validate() }

// Consumer is what a session consumer needs.
type Consumer struct {
	Redis     *redisx.Client
	Sessions  *session.Manager
	Publisher events.Publisher
	pub       *pubsubevents.Publisher
}

// Close releases the clients.
func (c *Consumer) Close() {
	_ = c.pub.Close()
	_ = c.Redis.Close()
}

// ConsumerWith builds a Consumer from configuration looked up in l.
func ConsumerWith(ctx context.Context, l envconfig.Lookuper, log *slog.Logger) (_ *Consumer, err error) {
	defer derrors.Wrap(&err, "setup.ConsumerWith")
	var cfg ConsumerConfig
	if err := config.LoadFrom(ctx, l, &cfg); err != nil {
		return nil, err
	}
	rdb, err := redisx.Open(ctx, cfg.Redis)
	if err != nil {
		return nil, err
	}
	pub, err := pubsubevents.NewPublisher(ctx, cfg.ProjectID, pubsubevents.Options{})
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	// Revocation never opens sessions, so it needs no tenant-service.
	sm := session.NewManager(rdb, nil, session.Options{PIIKey: []byte(cfg.PIIHashKey)})
	return &Consumer{Redis: rdb, Sessions: sm, Publisher: pub, pub: pub}, nil
}

// SessionConsumer starts an event function over a Consumer: build makes
// its handler from the Consumer's clients, and from l what else it needs;
// what that opens, the close it returns (nil when nothing) releases. name
// is the consumer name, which keys the processed-event markers.
func SessionConsumer(name string, build func(ctx context.Context, l boot.Lookuper, d *Consumer) (consume.Func, func(), error)) func(context.Context, boot.Lookuper, *slog.Logger) (boot.EventFunc, error) {
	return func(ctx context.Context, l boot.Lookuper, log *slog.Logger) (boot.EventFunc, error) {
		d, err := ConsumerWith(ctx, l, log)
		if err != nil {
			return boot.EventFunc{}, err
		}
		h, closeOwn, err := build(ctx, l, d)
		if err != nil {
			d.Close()
			return boot.EventFunc{}, err
		}
		closeAll := d.Close
		if closeOwn != nil {
			closeAll = func() { closeOwn(); d.Close() }
		}
		return boot.EventFunc{Name: name, Redis: d.Redis, Handle: h, Close: closeAll}, nil
	}
}
