// Package config loads a function's configuration from the environment once,
// at start, and validates it; a function with bad config refuses to start
// rather than failing its first requests.
package config

import (
	"context"

	"github.com/sethvargo/go-envconfig"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

// Validator is implemented by config structs with rules beyond "required".
type Validator interface {
	Validate() error
}

// Load fills cfg (a pointer to a struct with `env` tags) from the process
// environment and validates it.
func Load(ctx context.Context, cfg any) (err error) {
	defer derrors.Wrap(&err, "config.Load")
	return load(ctx, envconfig.OsLookuper(), cfg)
}

// LoadFrom is Load with an explicit lookuper, for tests and the dev server.
func LoadFrom(ctx context.Context, l envconfig.Lookuper, cfg any) (err error) {
	defer derrors.Wrap(&err, "config.LoadFrom")
	return load(ctx, l, cfg)
}

func load(ctx context.Context, l envconfig.Lookuper, cfg any) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: l}); err != nil {
		return err
	}
	if v, ok := cfg.(Validator); ok {
		return v.Validate()
	}
	return nil
}

// MapLookuper looks values up in m; handy for tests.
func MapLookuper(m map[string]string) envconfig.Lookuper { return envconfig.MapLookuper(m) }
