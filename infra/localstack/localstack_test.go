package localstack

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// These tests start real servers of their own (IgnoreEnv), so they behave the
// same under `make test` and under a bare `go test`.

func TestStartStop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tmp := testTempDir(t)
	noEmulators := testing.Short()

	began := time.Now()
	s, err := Start(ctx, Options{IgnoreEnv: true, TempDir: tmp, NoEmulators: noEmulators})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start (emulators: %v) took %s", !noEmulators, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { _ = s.Stop() })
	for _, svc := range s.Services() {
		t.Logf("%-9s reused=%v %s (%s)", svc.Name, svc.Reused, svc.Addr, svc.Detail)
		if svc.Reused {
			t.Errorf("%s reused with IgnoreEnv and no addresses", svc.Name)
		}
	}

	checkPostgres(t, ctx, s.PGAdminURL)
	checkRedis(t, ctx, s.RedisAddr)
	var gotMaxConns string
	if conn, err := pgx.Connect(ctx, s.PGAdminURL); err == nil {
		_ = conn.QueryRow(ctx, "show max_connections").Scan(&gotMaxConns)
		_ = conn.Close(ctx)
	}
	if gotMaxConns != "300" {
		t.Errorf("max_connections = %q, want 300", gotMaxConns)
	}
	if !noEmulators {
		for _, host := range []string{s.PubsubHost, s.FirestoreHost} {
			if err := WaitHTTP(ctx, "http://"+host+"/", 5*time.Second); err != nil {
				t.Errorf("emulator: %v", err)
			}
		}
	}
	wantEnv := []string{
		EnvPGAdminURL + "=" + s.PGAdminURL,
		EnvRedisAddr + "=" + s.RedisAddr,
	}
	if !noEmulators {
		wantEnv = append(wantEnv, EnvPubsubHost+"="+s.PubsubHost, EnvFirestoreHost+"="+s.FirestoreHost)
	}
	if got := strings.Join(s.Env(), " "); got != strings.Join(wantEnv, " ") {
		t.Errorf("Env() = %s\nwant %s", got, strings.Join(wantEnv, " "))
	}

	// A second Start pointed at this stack reuses every server, starts
	// nothing, and its Stop leaves them running.
	r, err := Start(ctx, Options{IgnoreEnv: true, TempDir: tmp, PGAdminURL: s.PGAdminURL, RedisAddr: s.RedisAddr,
		PubsubHost: s.PubsubHost, FirestoreHost: s.FirestoreHost, NoEmulators: noEmulators})
	if err != nil {
		t.Fatalf("Start reusing: %v", err)
	}
	assertStartedNothing(t, r)
	if err := r.Stop(); err != nil {
		t.Fatalf("Stop of reusing stack: %v", err)
	}
	checkPostgres(t, ctx, s.PGAdminURL)
	checkRedis(t, ctx, s.RedisAddr)

	// What Stop must make disappear.
	addrs := []string{hostPort(t, s.PGAdminURL), s.RedisAddr}
	groups := []int{s.redis.proc.pid()}
	dirs := []string{s.pg.dir, s.redis.dir}
	if !noEmulators {
		addrs = append(addrs, s.PubsubHost, s.FirestoreHost)
		groups = append(groups, s.pubsub.proc.pid(), s.firestore.proc.pid())
		dirs = append(dirs, s.pubsub.dir, s.firestore.dir)
	}
	postmaster := s.pg.pid

	began = time.Now()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(began).Round(time.Millisecond))
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Stop", a)
		}
	}
	if processAlive(postmaster) {
		t.Errorf("postmaster %d alive after Stop", postmaster)
	}
	for _, g := range groups {
		if groupAlive(g) {
			t.Errorf("process group %d alive after Stop", g)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("temp dir %s still there after Stop (stat: %v)", d, err)
		}
	}
	assertNoProcessMentions(t, tmp)
}

// TestReuseFromEnv checks that servers named by the environment and reachable
// are reused, and that a named but dead one is replaced, not trusted.
func TestReuseFromEnv(t *testing.T) {
	ctx := t.Context()
	tmp := testTempDir(t)
	base, err := Start(ctx, Options{IgnoreEnv: true, TempDir: tmp, NoEmulators: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = base.Stop() })

	t.Run("reachable", func(t *testing.T) {
		t.Setenv(EnvPGAdminURL, base.PGAdminURL)
		t.Setenv(EnvRedisAddr, base.RedisAddr)
		t.Setenv(EnvPubsubHost, "")
		t.Setenv(EnvFirestoreHost, "")
		s, err := Start(ctx, Options{NoEmulators: true, TempDir: tmp})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		assertStartedNothing(t, s)
		if s.PGAdminURL != base.PGAdminURL || s.RedisAddr != base.RedisAddr {
			t.Errorf("got %s %s, want the environment's %s %s", s.PGAdminURL, s.RedisAddr, base.PGAdminURL, base.RedisAddr)
		}
		if err := s.Stop(); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		checkPostgres(t, ctx, base.PGAdminURL)
		checkRedis(t, ctx, base.RedisAddr)
	})

	t.Run("unreachable", func(t *testing.T) {
		dead := deadAddr(t)
		t.Setenv(EnvRedisAddr, dead)
		// A live server that is not Postgres must not pass for one.
		t.Setenv(EnvPGAdminURL, "postgres://postgres@"+base.RedisAddr+"/postgres?sslmode=disable")
		s, err := Start(ctx, Options{NoEmulators: true, TempDir: tmp})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		defer s.Stop()
		for _, svc := range s.Services()[:2] {
			if svc.Reused || !strings.Contains(svc.Detail, "not reachable") {
				t.Errorf("%s: reused=%v detail=%q, want a fresh server and a note", svc.Name, svc.Reused, svc.Detail)
			}
		}
		if s.RedisAddr == dead || s.redis == nil || s.pg == nil {
			t.Errorf("did not start its own servers: %+v", s.Services())
		}
		checkPostgres(t, ctx, s.PGAdminURL)
		checkRedis(t, ctx, s.RedisAddr)
	})
}

// TestStartFailureCleansUp makes Redis fail while Postgres is being set up
// (early) or is already up (late): Start must name the culprit, show its log,
// and leave no cluster or temp dir behind.
func TestStartFailureCleansUp(t *testing.T) {
	for _, c := range []struct {
		name  string
		delay string // before the fake redis-server fails
	}{
		{"early", "0.3"},
		{"late", "4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakeBin := t.TempDir()
			script := "#!/bin/sh\nsleep " + c.delay + "\necho 'fake redis: refusing to start' >&2\nexit 3\n"
			if err := os.WriteFile(filepath.Join(fakeBin, "redis-server"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", fakeBin+string(os.PathListSeparator)+os.Getenv("PATH"))
			tmp := testTempDir(t)

			s, err := Start(t.Context(), Options{IgnoreEnv: true, TempDir: tmp, NoEmulators: true})
			if err == nil {
				_ = s.Stop()
				t.Fatal("Start succeeded with a broken redis-server")
			}
			for _, want := range []string{"localstack: start redis", "fake redis: refusing to start", "exit status 3"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "postgres") {
				t.Errorf("error blames postgres, which was only cancelled: %v", err)
			}
			if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
				t.Errorf("temp dirs left behind: %v", entries)
			}
			assertNoProcessMentions(t, tmp)
		})
	}
}

func TestWaitTCPTimeout(t *testing.T) {
	t.Parallel()
	began := time.Now()
	err := WaitTCP(t.Context(), deadAddr(t), 300*time.Millisecond)
	if err == nil {
		t.Fatal("WaitTCP on a closed port succeeded")
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("WaitTCP took %s with a 300ms timeout", d)
	}
}

func TestPostgresBinDir(t *testing.T) {
	t.Parallel()
	dir, err := PostgresBinDir()
	if err != nil {
		t.Fatal(err)
	}
	major, err := pgMajor(dir)
	if err != nil || major < minPGMajor {
		t.Errorf("pgMajor(%s) = %d, %v", dir, major, err)
	}
}

func assertStartedNothing(t *testing.T, s *Stack) {
	t.Helper()
	if s.pg != nil || s.redis != nil || s.pubsub != nil || s.firestore != nil {
		t.Errorf("reusing stack started servers: %+v", s.Services())
	}
	for _, svc := range s.Services() {
		if svc.Addr != "" && !svc.Reused {
			t.Errorf("%s not marked reused: %+v", svc.Name, svc)
		}
	}
}

func checkPostgres(t *testing.T, ctx context.Context, pgURL string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Errorf("postgres connect %s: %v", pgURL, err)
		return
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("select 1 = %d, %v", one, err)
	}
}

func checkRedis(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Errorf("redis PING %s: %v", addr, err)
	}
}

func hostPort(t *testing.T, pgURL string) string {
	t.Helper()
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// deadAddr returns a 127.0.0.1 address nothing listens on.
// deadAddr is an address nothing listens on. Not a freed port: the tests
// of this package start servers in parallel on ports FreePort hands out,
// and one of them can take a freed port between its release and the dial
// (seen as "WaitTCP on a closed port succeeded"). Port 1 (tcpmux) is
// privileged and unused.
func deadAddr(t *testing.T) string {
	t.Helper()
	const addr = "127.0.0.1:1"
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("something listens on %s; these tests need a dead address", addr)
	}
	return addr
}

// assertNoProcessMentions fails if a live process has dir in its command
// line, i.e. a server of ours survived (catches postgres, whose arguments
// name its data dir).
func assertNoProcessMentions(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("ps", "-eo", "pid,stat,args").Output()
	if err != nil {
		t.Logf("ps: %v; skipping the leftover-process check", err)
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.Contains(line, dir) && !strings.HasPrefix(f[1], "Z") {
			t.Errorf("process left running: %s", line)
		}
	}
}

// testTempDir is a t.TempDir the postgres OS user can enter when the tests
// run as root (t.TempDir's parent is private to the test process).
func testTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localstack-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	return dir
}
