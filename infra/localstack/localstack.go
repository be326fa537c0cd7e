// Package localstack starts the servers the tests and the dev server run
// against — a throw-away Postgres cluster, Redis, and the Pub/Sub and
// Firestore emulators — on free 127.0.0.1 ports, and stops them again.
//
// A server the environment already names and that answers is reused and left
// alone, so a developer can keep a long-lived stack across `make test` runs.
// Unix only: servers run in their own process groups.
package localstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// The variables tests read (see docs/DESIGN.md) and Start reuses.
const (
	EnvPGAdminURL    = "BFF_TEST_PG_ADMIN_URL"
	EnvRedisAddr     = "BFF_TEST_REDIS_ADDR"
	EnvPubsubHost    = "PUBSUB_EMULATOR_HOST"
	EnvFirestoreHost = "FIRESTORE_EMULATOR_HOST"
)

// stopGrace is how long a server gets to exit on SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// Options configure Start. The zero value starts (or reuses) everything.
type Options struct {
	// NoEmulators skips starting the Pub/Sub and Firestore emulators;
	// reachable ones named by the options or environment are still reused.
	NoEmulators bool

	// Addresses to reuse when reachable. An empty one is read from the
	// environment variable of the same meaning unless IgnoreEnv is set.
	PGAdminURL    string // superuser URL
	RedisAddr     string // host:port
	PubsubHost    string // host:port
	FirestoreHost string // host:port
	// IgnoreEnv makes Start look only at the fields above, so a test of the
	// launcher starts its own servers even under `make test`.
	IgnoreEnv bool

	// Timeout bounds each server's start-up (default 90 s: the Java
	// emulators take 5–15 s on a warm machine, more on a cold CI runner).
	Timeout time.Duration
	// DurablePostgres keeps Postgres's fsync, synchronous commit and full
	// page writes on, for benchmarks whose figures must include the cost of
	// a durable commit (as on Cloud SQL). Tests run faster without.
	DurablePostgres bool
	// TempDir is where the servers' temp dirs go (default os.TempDir()).
	// As root it must be traversable by the postgres OS user.
	TempDir string
}

// withDefaults also returns where each reuse candidate came from, by
// variable name, for the report.
func (o Options) withDefaults() (Options, map[string]string) {
	sources := map[string]string{}
	if o.Timeout <= 0 {
		o.Timeout = 90 * time.Second
	}
	if o.Timeout < time.Second {
		o.Timeout = time.Second
	}
	if !o.IgnoreEnv {
		for _, f := range []struct {
			field *string
			env   string
		}{
			{&o.PGAdminURL, EnvPGAdminURL},
			{&o.RedisAddr, EnvRedisAddr},
			{&o.PubsubHost, EnvPubsubHost},
			{&o.FirestoreHost, EnvFirestoreHost},
		} {
			if *f.field == "" {
				*f.field = os.Getenv(f.env)
				sources[f.env] = "$" + f.env
			}
		}
	}
	return o, sources
}

// Service says what Start did for one server.
type Service struct {
	Name   string // "postgres", "redis", "pubsub" or "firestore"
	Addr   string // URL for postgres, host:port otherwise; empty when skipped
	Reused bool   // true when an already-running server was reused
	Detail string // pid and temp dir, or why a named server was not reused
}

// Stack is the set of servers Start started or reused.
type Stack struct {
	PGAdminURL    string // postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
	RedisAddr     string
	PubsubHost    string // empty when emulators were skipped
	FirestoreHost string // empty when emulators were skipped

	services []Service

	// What this Stack started and must stop; nil when reused or skipped.
	pg                       *pgServer
	redis, pubsub, firestore *daemon

	stopOnce sync.Once
	stopErr  error
}

// piece is one server for Start to reuse or start.
type piece struct {
	name      string
	env       string
	candidate string
	source    string // "$VAR" or "options", for the report
	noStart   bool
	probe     func(context.Context, string) error
	start     func(context.Context) (addr, detail string, err error)
}

// Start starts, in parallel, every server that the options and environment
// do not name a reachable instance of. On any failure it stops what it
// started and returns an error naming the failed server with its log tail.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	opts, sources := opts.withDefaults()
	s := &Stack{}
	pieces := []piece{
		{name: "postgres", env: EnvPGAdminURL, candidate: opts.PGAdminURL, probe: probePostgres,
			start: func(ctx context.Context) (string, string, error) {
				pg, err := startPostgres(ctx, opts)
				if err != nil {
					return "", "", err
				}
				s.pg = pg
				return pg.url(), fmt.Sprintf("pid %d, dir %s", pg.pid, pg.dir), nil
			}},
		{name: "redis", env: EnvRedisAddr, candidate: opts.RedisAddr, probe: probeRedis,
			start: daemonStarter(&s.redis, func(ctx context.Context) (*daemon, error) { return startRedis(ctx, opts) })},
		{name: "pubsub", env: EnvPubsubHost, candidate: opts.PubsubHost, probe: emulatorReady, noStart: opts.NoEmulators,
			start: daemonStarter(&s.pubsub, func(ctx context.Context) (*daemon, error) { return startPubsub(ctx, opts) })},
		{name: "firestore", env: EnvFirestoreHost, candidate: opts.FirestoreHost, probe: emulatorReady, noStart: opts.NoEmulators,
			start: daemonStarter(&s.firestore, func(ctx context.Context) (*daemon, error) { return startFirestore(ctx, opts) })},
	}

	// The first failure cancels the other starts: no point waiting 15 s for
	// an emulator when Postgres is missing.
	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.services = make([]Service, len(pieces))
	errs := make([]error, len(pieces))
	var wg sync.WaitGroup
	for i, p := range pieces {
		wg.Go(func() {
			p.source = cmp.Or(sources[p.env], "options")
			s.services[i], errs[i] = p.run(startCtx)
			if errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()

	var failed []error
	for _, err := range errs {
		// Starts cancelled by us or the caller are not news.
		if err != nil && !errors.Is(err, context.Canceled) && !(ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded)) {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 && ctx.Err() != nil {
		failed = append(failed, fmt.Errorf("localstack: start: %w", ctx.Err()))
	}
	if len(failed) > 0 {
		if err := s.Stop(); err != nil {
			failed = append(failed, fmt.Errorf("localstack: clean up after failed start: %w", err))
		}
		return nil, errors.Join(failed...)
	}
	for _, svc := range s.services {
		switch svc.Name {
		case "postgres":
			s.PGAdminURL = svc.Addr
		case "redis":
			s.RedisAddr = svc.Addr
		case "pubsub":
			s.PubsubHost = svc.Addr
		case "firestore":
			s.FirestoreHost = svc.Addr
		}
	}
	return s, nil
}

func daemonStarter(dst **daemon, start func(context.Context) (*daemon, error)) func(context.Context) (string, string, error) {
	return func(ctx context.Context) (string, string, error) {
		d, err := start(ctx)
		if err != nil {
			return "", "", err
		}
		*dst = d
		return d.addr, fmt.Sprintf("pid %d, dir %s", d.proc.pid(), d.dir), nil
	}
}

func (p piece) run(ctx context.Context) (Service, error) {
	svc := Service{Name: p.name}
	var note string
	if p.candidate != "" {
		err := p.probe(ctx, p.candidate)
		if err == nil {
			svc.Addr, svc.Reused, svc.Detail = p.candidate, true, "reachable, from "+p.source
			return svc, nil
		}
		note = fmt.Sprintf("%s from %s not reachable: %v", p.candidate, p.source, err)
	}
	if p.noStart {
		svc.Detail = "skipped"
		if note != "" {
			svc.Detail += "; " + note
		}
		return svc, nil
	}
	addr, detail, err := p.start(ctx)
	if err != nil {
		return svc, fmt.Errorf("localstack: start %s: %w", p.name, err)
	}
	svc.Addr, svc.Detail = addr, detail
	if note != "" {
		svc.Detail += "; " + note
	}
	return svc, nil
}

// Services reports, in a fixed order, what Start did for each server.
func (s *Stack) Services() []Service {
	if s == nil {
		return nil
	}
	return append([]Service(nil), s.services...)
}

// Env returns the variables that point tests at this stack, as KEY=value;
// skipped emulators are left out.
func (s *Stack) Env() []string {
	if s == nil {
		return nil
	}
	var env []string
	for _, kv := range [][2]string{
		{EnvPGAdminURL, s.PGAdminURL},
		{EnvRedisAddr, s.RedisAddr},
		{EnvPubsubHost, s.PubsubHost},
		{EnvFirestoreHost, s.FirestoreHost},
	} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return env
}

// Stop stops, in parallel, every server this Stack started and removes their
// temp dirs; reused servers are left running. It is safe to call more than
// once and from several goroutines; later calls return the first result.
func (s *Stack) Stop() error {
	if s == nil {
		return nil
	}
	s.stopOnce.Do(func() {
		var stops []func() error
		if s.pg != nil {
			stops = append(stops, s.pg.stop)
		}
		for _, d := range []*daemon{s.redis, s.pubsub, s.firestore} {
			if d != nil {
				stops = append(stops, d.stop)
			}
		}
		errs := make([]error, len(stops))
		var wg sync.WaitGroup
		for i, stop := range stops {
			wg.Go(func() { errs[i] = stop() })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			s.stopErr = fmt.Errorf("localstack: stop: %w", err)
		}
	})
	return s.stopErr
}
