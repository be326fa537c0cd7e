// Package redisx opens the Memorystore (Redis) client a function uses and
// namespaces its keys.
package redisx

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
)

// Config is the Redis part of a function's configuration.
type Config struct {
	Addr     string `env:"REDIS_ADDR, required"`
	Password string `env:"REDIS_PASSWORD"`
	DB       int    `env:"REDIS_DB, default=0"`
	// KeyPrefix namespaces every key; tests give each test its own.
	KeyPrefix string `env:"REDIS_KEY_PREFIX, default=bffbo:"`
	PoolSize  int    `env:"REDIS_POOL_SIZE, default=32"`
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("REDIS_ADDR is required"))
	}
	if c.DB < 0 || c.DB > 15 {
		errs = append(errs, errors.New("REDIS_DB must be 0..15"))
	}
	if c.PoolSize < 1 {
		errs = append(errs, errors.New("REDIS_POOL_SIZE must be positive"))
	}
	return errors.Join(errs...)
}

// Client is a Redis client plus the key prefix of this deployment.
type Client struct {
	*redis.Client
	Prefix string
}

// KeyNames builds the key names of this deployment; shared/rediskeys lists
// them all. (Keys, the embedded client's, is the Redis KEYS command.)
func (c *Client) KeyNames() rediskeys.Keys { return rediskeys.New(c.Prefix) }

// Key joins the prefix and parts with ':', for scratch keys of tests and
// tools; the BFF's own keys are built by KeyNames.
func (c *Client) Key(parts ...string) string { return c.KeyNames().Join(parts...) }

// Open connects and pings, so a wrong address fails at start.
func Open(ctx context.Context, cfg Config) (_ *Client, err error) {
	defer derrors.Wrap(&err, "redisx.Open(%s)", cfg.Addr)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc := redis.NewClient(&redis.Options{
		Addr:         cfg.Addr,
		Password:     cfg.Password,
		DB:           cfg.DB,
		PoolSize:     cfg.PoolSize,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		// go-redis would otherwise issue CLIENT SETINFO, which
		// Memorystore's older engines reject.
		DisableIdentity: true,
	})
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rc.Ping(pctx).Err(); err != nil {
		_ = rc.Close()
		return nil, err
	}
	return &Client{Client: rc, Prefix: cfg.KeyPrefix}, nil
}
