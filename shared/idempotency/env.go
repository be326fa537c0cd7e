package idempotency

import (
	"context"
	"fmt"

	"github.com/melmastoon/bff-backoffice/shared/config"
)

// Config is the idempotency part of a mutating function's configuration.
type Config struct {
	ProjectID string `env:"GOOGLE_CLOUD_PROJECT, required"`
}

// FromEnv builds the Store of a function from the process environment.
// It lives here rather than in shared/setup so that only the functions
// that mutate link the Firestore client.
func FromEnv(ctx context.Context) (*Store, error) {
	var cfg Config
	if err := config.Load(ctx, &cfg); err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	return NewStore(ctx, cfg.ProjectID, Options{})
}
