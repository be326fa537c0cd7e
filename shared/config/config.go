// Package config loads a function's configuration from the environment once,
// at start, and validates it; a function with bad config refuses to start
// rather than failing its first requests.
package config

import (
	"context"
	"fmt"

	"github.com/sethvargo/go-envconfig"
)

// Validator is implemented by config structs with rules beyond "required".
type Validator interface {
	Validate() error
}

// Load fills cfg (a pointer to a struct with `env` tags) from the process
// environment and validates it.
func Load(ctx context.Context, cfg any) error {
	return LoadFrom(ctx, envconfig.OsLookuper(), cfg)
}

// LoadFrom is Load with an explicit lookuper, for tests and the dev server.
func LoadFrom(ctx context.Context, l envconfig.Lookuper, cfg any) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: l}); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

// MapLookuper looks values up in m; handy for tests.
func MapLookuper(m map[string]string) envconfig.Lookuper { return envconfig.MapLookuper(m) }
