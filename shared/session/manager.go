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

// Manager opens, resolves and ends sessions.
type Manager struct {
	rdb     *redisx.Client
	access  AccessSource
	piiKey  []byte
	now     func() time.Time
	theme   string
	defLang string

	mu     sync.Mutex
	recent map[string]recentSession
}

// Options tune a Manager.
type Options struct {
	// PIIKey keys the hashes of IPs and user agents.
	PIIKey []byte
	// Now replaces the clock in tests.
	Now func() time.Time
}

// NewManager returns a Manager over rdb that resolves access through src.
func NewManager(rdb *redisx.Client, src AccessSource, opts Options) *Manager {
	m := &Manager{rdb: rdb, access: src, piiKey: opts.PIIKey, now: opts.Now, theme: "default", defLang: "en-US"}
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
