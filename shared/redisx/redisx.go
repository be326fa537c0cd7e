// Package redisx opens the Memorystore (Redis) client a function uses and
// namespaces its keys.
package redisx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
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
	// TLSCA turns TLS on: the PEM of the CA(s) the server's certificate
	// must chain to, or the path of a file holding it. Memorystore with
	// in-transit encryption presents a certificate of its own per-instance
	// CA, which no system pool trusts, so TLS without it could only skip
	// verification — which is never offered. Empty: plain TCP (the local
	// and test stacks).
	TLSCA string `env:"REDIS_TLS_CA"`
	// TLSServerName is the name the certificate must carry; by default
	// the host of REDIS_ADDR (an IP address for Memorystore).
	TLSServerName string `env:"REDIS_TLS_SERVER_NAME"`
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
	if _, err := c.TLSConfig(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// TLSConfig is the client's TLS configuration: nil without REDIS_TLS_CA,
// otherwise verification against exactly that CA and the server name. An
// unreadable CA, or one without a certificate, is an error rather than a
// fallback to plain TCP or to the system pool.
func (c Config) TLSConfig() (*tls.Config, error) {
	if strings.TrimSpace(c.TLSCA) == "" {
		if c.TLSServerName != "" {
			return nil, errors.New("REDIS_TLS_SERVER_NAME is set without REDIS_TLS_CA")
		}
		return nil, nil
	}
	pemData := []byte(c.TLSCA)
	source := "REDIS_TLS_CA"
	if !strings.Contains(c.TLSCA, "-----BEGIN") {
		b, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("REDIS_TLS_CA: %w", err)
		}
		pemData, source = b, "REDIS_TLS_CA file "+c.TLSCA
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("%s holds no PEM certificate", source)
	}
	name := c.TLSServerName
	if name == "" {
		host, _, err := net.SplitHostPort(c.Addr)
		if err != nil || host == "" {
			return nil, errors.New("REDIS_TLS_CA: REDIS_ADDR must be host:port, or set REDIS_TLS_SERVER_NAME")
		}
		name = host
	}
	return &tls.Config{
		RootCAs:    pool,
		ServerName: name,
		// Memorystore accepts TLS 1.2 and later.
		MinVersion: tls.VersionTLS12,
	}, nil
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
	tlsConfig, err := cfg.TLSConfig()
	if err != nil {
		return nil, err
	}
	rc := redis.NewClient(&redis.Options{
		TLSConfig:    tlsConfig,
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

// Rider is a read that goes out in another caller's pipeline, so that two
// layers' reads of one request share a round trip: the session's resolve
// carries the read a route's handler will want (see gate.Prefetcher). The
// rider keeps its command and reads the answer after the pipeline ran.
type Rider interface {
	Queue(ctx context.Context, pipe redis.Pipeliner)
}
