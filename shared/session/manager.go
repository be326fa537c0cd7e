package session

// The Manager's work is split by job: resolve.go (the per-request path),
// lifecycle.go (open, sign-out, discard), store.go (reads and optimistic
// updates), cache.go (the decode memory), revoke.go (cutoffs and
// revocations), scripts.go (the Lua scripts, in lua/), keys.go (Redis keys).

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Access is what tenant-service says an operator may do.
type Access struct {
	Roles             []string
	PropertyScope     []string
	PrimaryPropertyID string
}

// AccessSource resolves an operator's roles and property scope. It returns
// ErrNoAccess when the operator is unknown to the tenant.
type AccessSource interface {
	OperatorAccess(ctx context.Context, tenantID, operatorID string) (Access, error)
}

// ErrNoAccess is returned by an AccessSource for an unknown operator.
var ErrNoAccess = errors.New("session: operator has no access")

// Limits are a tenant's request rate limits: per device DevicePerSecond
// with bursts of DeviceBurst, and TenantPerSecond for all its devices.
type Limits struct {
	DevicePerSecond float64
	DeviceBurst     int
	TenantPerSecond float64
}

// DefaultLimits apply while a tenant has no limits stored: before any of
// its sessions read tenant-service, when the source cannot say, or with
// no LimitSource at all. They match tenant-service's defaults.
var DefaultLimits = Limits{DevicePerSecond: 20, DeviceBurst: 60, TenantPerSecond: 1000}

// LimitSource is implemented by an AccessSource that also knows tenants'
// rate limits; the Manager stores them for the resolve script whenever a
// session reads its access and the stored ones are due.
type LimitSource interface {
	TenantLimits(ctx context.Context, tenantID string) (Limits, error)
}

// Manager opens, resolves and ends sessions.
type Manager struct {
	rdb     *redisx.Client
	access  AccessSource
	limits  LimitSource // nil: DefaultLimits for every tenant
	piiKey  []byte
	now     func() time.Time
	theme   string
	defLang string

	mu     sync.Mutex
	recent map[string]recentSession
	// byDevice is the session last resolved per device, for Known.
	byDevice map[device]string
}

// Options tune a Manager.
type Options struct {
	// PIIKey keys the hashes of IPs and user agents.
	PIIKey []byte
	// Now replaces the clock in tests.
	Now func() time.Time
}

// NewManager returns a Manager over rdb that resolves access through src,
// and tenants' rate limits too when src is a LimitSource.
func NewManager(rdb *redisx.Client, src AccessSource, opts Options) *Manager {
	m := &Manager{rdb: rdb, access: src, piiKey: opts.PIIKey, now: opts.Now, theme: "default", defLang: "en-US"}
	m.limits, _ = src.(LimitSource)
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

// Reasons a session ends; they travel in session.closed.v1 and cutoffs.
const (
	ReasonSignedOut = "signed_out"
	ReasonRevoked   = "revoked"
)

// Get returns a session by id, or nil when it is gone.
func (m *Manager) Get(ctx context.Context, id string) (_ *Session, err error) {
	defer derrors.Wrap(&err, "session.Manager.Get(%s)", id)
	s, err := m.load(ctx, id, false)
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return s, err
}
