package consume

// Stand-ins for shared/testenv (Redis, ProjectID, PubsubHost), which another
// helper is writing; replace with testenv once it lands.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

func requireEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run `make test`, which starts the services the tests need", name)
	}
	return v
}

func randHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// testPubsubHost fails the test unless the Pub/Sub emulator is configured;
// the client libraries read PUBSUB_EMULATOR_HOST themselves.
func testPubsubHost(t testing.TB) string {
	t.Helper()
	return requireEnv(t, "PUBSUB_EMULATOR_HOST")
}

// testProjectID is a fresh emulator project: topics and subscriptions of
// parallel tests never meet.
func testProjectID(t testing.TB) string {
	t.Helper()
	testPubsubHost(t)
	return "t" + randHex(t, 8)
}

// testRedis connects to the test Redis with a key prefix of its own and
// deletes the test's keys afterwards.
func testRedis(t testing.TB) *redisx.Client {
	t.Helper()
	addr := requireEnv(t, "BFF_TEST_REDIS_ADDR")
	rdb, err := redisx.Open(context.Background(), redisx.Config{
		Addr:      addr,
		KeyPrefix: "test:" + randHex(t, 8) + ":",
		PoolSize:  32,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, rdb.Prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	return rdb
}
