// Package testenv connects tests to the servers `make test` starts (see
// infra/cmd/stack) and isolates each test on them: its own database, Redis
// key prefix and GCP project id. A missing server fails the test; it never
// skips, so a green run means everything was exercised.
package testenv

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// Env returns the value of the environment variable name and fails the test
// when it is unset.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s not set: run the tests with `make test`, which starts Postgres, Redis and the emulators", name)
	}
	return v
}

// Unique returns a fresh token of 16 lowercase letters and digits, for names
// (subscriptions, topics) a test must not share with any other.
func Unique() string { return uniqueToken() }

// uniqueToken is 16 lowercase base32 characters (80 random bits): enough that
// parallel tests and concurrent test binaries never collide.
func uniqueToken() string {
	return strings.ToLower(rand.Text()[:16])
}

// ClosedAddr returns a local address nothing listens on (a port taken,
// then freed), for tests of a server that is down: connecting there is
// refused at once rather than timing out.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Redis connects to BFF_TEST_REDIS_ADDR with a key prefix of the test's own
// ("t<random>:"). When the test ends its keys are deleted and the client is
// closed.
func Redis(t testing.TB) *redisx.Client {
	t.Helper()
	addr := Env(t, "BFF_TEST_REDIS_ADDR")
	prefix := "t" + uniqueToken() + ":"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := redisx.Open(ctx, redisx.Config{Addr: addr, KeyPrefix: prefix, PoolSize: 16})
	if err != nil {
		t.Fatalf("testenv.Redis: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Close() // the test may have closed it already
		if err := deletePrefix(addr, prefix); err != nil {
			t.Errorf("testenv.Redis: delete keys %s*: %v", prefix, err)
		}
	})
	return c
}

// ClosedRedis returns a client whose every command fails, as when Redis
// goes away under a running instance: for the tests of what a service does
// without its cache or its sessions.
func ClosedRedis(t testing.TB) *redisx.Client {
	t.Helper()
	c := Redis(t)
	_ = c.Close()
	return c
}

// deletePrefix removes every key under prefix with its own connection, so it
// works even when the test closed its client. The prefix holds no glob
// metacharacters, so it is a safe MATCH pattern as is.
func deletePrefix(addr, prefix string) error {
	rc := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1, DisableIdentity: true})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cursor uint64
	for {
		keys, next, err := rc.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := rc.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// ProjectID returns a GCP project id of the test's own (lowercase, starts
// with a letter, 21 characters): the emulators keep topics, subscriptions
// and documents per project, so tests never see each other's.
func ProjectID(t testing.TB) string {
	t.Helper()
	return "test-" + uniqueToken()
}

// PubsubHost returns PUBSUB_EMULATOR_HOST, which the Pub/Sub client reads
// itself; calling it first makes a missing emulator a clear failure.
func PubsubHost(t testing.TB) string {
	t.Helper()
	return Env(t, "PUBSUB_EMULATOR_HOST")
}

// PubsubProject is ProjectID for a test of the Pub/Sub emulator: it fails
// first when the emulator is not configured, since a client without
// PUBSUB_EMULATOR_HOST would try to reach the real service.
func PubsubProject(t testing.TB) string {
	t.Helper()
	PubsubHost(t)
	return ProjectID(t)
}

// FirestoreHost returns FIRESTORE_EMULATOR_HOST, which the Firestore client
// reads itself; calling it first makes a missing emulator a clear failure.
func FirestoreHost(t testing.TB) string {
	t.Helper()
	return Env(t, "FIRESTORE_EMULATOR_HOST")
}
