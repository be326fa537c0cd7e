package idempotency

import (
	"context"
	"errors"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

// Config is the idempotency part of a mutating function's configuration.
type Config struct {
	ProjectID string `env:"GOOGLE_CLOUD_PROJECT, required"`
	// Timeout bounds each Firestore call. Production keeps the default;
	// the dev stack raises it for the emulator, which answers a burst of
	// writes on a small machine far slower than Firestore does.
	Timeout time.Duration `env:"IDEMPOTENCY_TIMEOUT, default=3s"`
}

// Validate checks the config.
func (c *Config) Validate() error {
	if c.Timeout < 100*time.Millisecond || c.Timeout > time.Minute {
		return errors.New("IDEMPOTENCY_TIMEOUT must be within 100ms..1m")
	}
	return nil
}

// With builds the Store of a function from configuration looked up in l.
// It lives here rather than in shared/setup so that only the functions
// that mutate link the Firestore client.
func With(ctx context.Context, l envconfig.Lookuper) (_ *Store, err error) {
	defer derrors.Wrap(&err, "idempotency.With")
	var cfg Config
	if err := config.LoadFrom(ctx, l, &cfg); err != nil {
		return nil, err
	}
	return NewStore(ctx, cfg.ProjectID, Options{Timeout: cfg.Timeout})
}
