// Package upstream lists the upstream services the BFF reads from and
// the variables that configure each, in one place for whoever deploys a
// function or is on call: <ENV>_URL (required, an absolute http(s) URL)
// and <ENV>_TIMEOUT (one call's bound, default 300ms). Each client package
// below (upstream/housekeeping, …) names its entry here as its Config; the
// HTTP plumbing they share is httpc, the checks of what they decode wire.
// tenant-service's client, configured the same way, is shared/tenant.
package upstream

import (
	"time"

	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// The services, as errors and logs name them.
const (
	AIOrchestratorService = "ai-orchestrator-service"
	HousekeepingService   = "housekeeping-service"
	MaintenanceService    = "maintenance-service"
	NotificationService   = "notification-service"
	ReservationService    = "reservation-service"
	RevenueService        = "revenue-service"
	SyncService           = "sync-service"
	IAMService            = "iam-service"
	LockService           = "lock-service"
	FolioService          = "folio-service"
)

// What the clients share of each service: its name, the prefix of its
// variables and the client package (the context of constructor errors).
var (
	AIOrchestrator = httpc.Upstream{Service: AIOrchestratorService, Env: "AI_ORCHESTRATOR_SERVICE", Pkg: "aiorchestrator"}
	Housekeeping   = httpc.Upstream{Service: HousekeepingService, Env: "HOUSEKEEPING_SERVICE", Pkg: "housekeeping"}
	Maintenance    = httpc.Upstream{Service: MaintenanceService, Env: "MAINTENANCE_SERVICE", Pkg: "maintenance"}
	Notification   = httpc.Upstream{Service: NotificationService, Env: "NOTIFICATION_SERVICE", Pkg: "notification"}
	Reservation    = httpc.Upstream{Service: ReservationService, Env: "RESERVATION_SERVICE", Pkg: "reservation"}
	Revenue        = httpc.Upstream{Service: RevenueService, Env: "REVENUE_SERVICE", Pkg: "revenue"}
	Sync           = httpc.Upstream{Service: SyncService, Env: "SYNC_SERVICE", Pkg: "syncsvc"}
	IAM            = httpc.Upstream{Service: IAMService, Env: "IAM_SERVICE", Pkg: "iam", Options: []httpc.Option{httpc.WithMaxResponse(64 << 10)}}
	Folio          = httpc.Upstream{Service: FolioService, Env: "FOLIO_SERVICE", Pkg: "folio", Options: []httpc.Option{httpc.WithMaxResponse(64 << 10)}}
	Lock           = httpc.Upstream{Service: LockService, Env: "LOCK_SERVICE", Pkg: "lock", Options: []httpc.Option{httpc.WithMaxResponse(256 << 10)}}
)

// AIOrchestratorConfig is aiorchestrator.Config: the AI suggestions.
type AIOrchestratorConfig struct {
	URL     string        `env:"AI_ORCHESTRATOR_SERVICE_URL, required"`
	Timeout time.Duration `env:"AI_ORCHESTRATOR_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c AIOrchestratorConfig) Validate() error { return AIOrchestrator.Validate(httpc.Endpoint(c)) }

// HousekeepingConfig is housekeeping.Config: the room board.
type HousekeepingConfig struct {
	URL     string        `env:"HOUSEKEEPING_SERVICE_URL, required"`
	Timeout time.Duration `env:"HOUSEKEEPING_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c HousekeepingConfig) Validate() error { return Housekeeping.Validate(httpc.Endpoint(c)) }

// MaintenanceConfig is maintenance.Config: the work order board.
type MaintenanceConfig struct {
	URL     string        `env:"MAINTENANCE_SERVICE_URL, required"`
	Timeout time.Duration `env:"MAINTENANCE_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c MaintenanceConfig) Validate() error { return Maintenance.Validate(httpc.Endpoint(c)) }

// NotificationConfig is notification.Config: the alerts.
type NotificationConfig struct {
	URL     string        `env:"NOTIFICATION_SERVICE_URL, required"`
	Timeout time.Duration `env:"NOTIFICATION_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c NotificationConfig) Validate() error { return Notification.Validate(httpc.Endpoint(c)) }

// ReservationConfig is reservation.Config: the day's stays.
type ReservationConfig struct {
	URL     string        `env:"RESERVATION_SERVICE_URL, required"`
	Timeout time.Duration `env:"RESERVATION_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c ReservationConfig) Validate() error { return Reservation.Validate(httpc.Endpoint(c)) }

// RevenueConfig is revenue.Config: occupancy and revenue.
type RevenueConfig struct {
	URL     string        `env:"REVENUE_SERVICE_URL, required"`
	Timeout time.Duration `env:"REVENUE_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c RevenueConfig) Validate() error { return Revenue.Validate(httpc.Endpoint(c)) }

// SyncConfig is syncsvc.Config: how the desktops keep up.
type SyncConfig struct {
	URL     string        `env:"SYNC_SERVICE_URL, required"`
	Timeout time.Duration `env:"SYNC_SERVICE_TIMEOUT, default=300ms"`
}

// Validate checks the rules env tags cannot express.
func (c SyncConfig) Validate() error { return Sync.Validate(httpc.Endpoint(c)) }

// IAMConfig is iam.Config: step-up MFA challenges and their verification.
// A verification is a person typing a code, answered by a service that may
// call a phone carrier: it gets more time than a read.
type IAMConfig struct {
	URL     string        `env:"IAM_SERVICE_URL, required"`
	Timeout time.Duration `env:"IAM_SERVICE_TIMEOUT, default=3s"`
}

// Validate checks the rules env tags cannot express.
func (c IAMConfig) Validate() error { return IAM.Validate(httpc.Endpoint(c)) }

// LockConfig is lock.Config: door keys. A vendor's gateway may talk to the
// door controllers before it answers: more time than a read.
type LockConfig struct {
	URL     string        `env:"LOCK_SERVICE_URL, required"`
	Timeout time.Duration `env:"LOCK_SERVICE_TIMEOUT, default=5s"`
}

// Validate checks the rules env tags cannot express.
func (c LockConfig) Validate() error { return Lock.Validate(httpc.Endpoint(c)) }

// FolioConfig is folio.Config: folio adjustments and refunds.
type FolioConfig struct {
	URL     string        `env:"FOLIO_SERVICE_URL, required"`
	Timeout time.Duration `env:"FOLIO_SERVICE_TIMEOUT, default=3s"`
}

// Validate checks the rules env tags cannot express.
func (c FolioConfig) Validate() error { return Folio.Validate(httpc.Endpoint(c)) }
