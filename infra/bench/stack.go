package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/infra/devdb"
	"github.com/melmastoon/bff-backoffice/infra/localstack"
)

// Stack is the local stack `infra/cmd/stack run` exports to its command.
type Stack struct {
	RepoRoot   string
	PGAdminURL string // superuser URL of the cluster
	RedisAddr  string
}

// StackFromEnv reads the stack's variables; the Pub/Sub emulator is checked
// by the scenarios that need it.
func StackFromEnv(repoRoot string) (Stack, error) {
	s := Stack{RepoRoot: repoRoot, PGAdminURL: os.Getenv(localstack.EnvPGAdminURL), RedisAddr: os.Getenv(localstack.EnvRedisAddr)}
	var missing []string
	if s.PGAdminURL == "" {
		missing = append(missing, localstack.EnvPGAdminURL)
	}
	if s.RedisAddr == "" {
		missing = append(missing, localstack.EnvRedisAddr)
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("bench: %s not set: run `make bench`, which starts the stack", strings.Join(missing, " and "))
	}
	return s, nil
}

// Prepare gives one scenario a freshly migrated database, a Redis key
// prefix and an emulator project of its own. cleanup drops the database and
// the keys, so a long-lived stack reused by `make bench` keeps nothing.
func (s Stack) Prepare(ctx context.Context, stamp, scenario string) (env Env, cleanup func() error, err error) {
	name := "bench_" + strings.ToLower(stamp) + "_" + strings.ReplaceAll(scenario, "-", "_")
	urls, err := devdb.Provision(ctx, s.PGAdminURL, name)
	if err != nil {
		return Env{}, nil, fmt.Errorf("bench: prepare %s: %w", scenario, err)
	}
	adminURL, err := withDatabase(s.PGAdminURL, name)
	if err != nil {
		return Env{}, nil, err
	}
	env = Env{
		RepoRoot: s.RepoRoot, AdminURL: adminURL, AppURL: urls.App, JobsURL: urls.Jobs, RedisAddr: s.RedisAddr,
		RedisPrefix: "bench:" + stamp + ":" + scenario + ":",
		ProjectID:   "bench-" + strings.ToLower(stamp),
	}
	cleanup = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return errors.Join(dropDatabase(ctx, s.PGAdminURL, name), deletePrefix(ctx, s.RedisAddr, env.RedisPrefix))
	}
	return env, cleanup, nil
}

func withDatabase(rawURL, db string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// The parse error would quote the URL, password included.
		return "", errors.New("bench: the Postgres admin URL does not parse")
	}
	u.Path, u.RawPath = "/"+db, ""
	return u.String(), nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("bench: drop database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// FORCE: a pool a failed scenario left open must not keep it alive.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("bench: drop database %s: %w", name, err)
	}
	return nil
}

// deletePrefix removes the keys the scenario's sessions left behind. The
// prefix holds no glob metacharacters, so it is a safe MATCH pattern.
func deletePrefix(ctx context.Context, addr, prefix string) error {
	rc := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1, DisableIdentity: true})
	defer rc.Close()
	var cursor uint64
	for {
		keys, next, err := rc.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return fmt.Errorf("bench: delete keys %s*: %w", prefix, err)
		}
		if len(keys) > 0 {
			if err := rc.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("bench: delete keys %s*: %w", prefix, err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// pgServer is what decides a commit's cost on the server the figures come
// from.
type pgServer struct {
	Version           string `json:"version"`
	Fsync             string `json:"fsync"`
	SynchronousCommit string `json:"synchronousCommit"`
	FullPageWrites    string `json:"fullPageWrites"`
}

func readPGServer(ctx context.Context, conn *pgx.Conn) (pgServer, error) {
	var s pgServer
	err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('full_page_writes')`).
		Scan(&s.Version, &s.Fsync, &s.SynchronousCommit, &s.FullPageWrites)
	if err != nil {
		return s, fmt.Errorf("read Postgres settings: %w", err)
	}
	return s, nil
}

// warning says, when the server does not flush commits to disk, that the
// figures leave out the cost that dominates a commit in production.
func (s pgServer) warning() string {
	if s.Fsync == "on" && s.SynchronousCommit != "off" {
		return ""
	}
	return fmt.Sprintf("Postgres runs with fsync=%s, synchronous_commit=%s, full_page_writes=%s (the throw-away stack's settings): "+
		"a commit waits for no disk flush here, so these figures leave out the durable commit Cloud SQL pays per transaction — the cost the group commit amortizes",
		s.Fsync, s.SynchronousCommit, s.FullPageWrites)
}

func serverOf(ctx context.Context, adminURL string) (pgServer, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return pgServer{}, fmt.Errorf("connect admin: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return readPGServer(ctx, conn)
}
