// Command devserver is one dev-server process pointed at a stack and at
// fakes that someone else runs, so that several processes can share one
// Redis, one database and one fake fleet — the thundering-herd bench and
// test start four of it (devserver.StartProcess). `make dev` is
// infra/cmd/dev, which starts everything itself.
//
//	DATABASE_URL=postgres://bff_app@… devserver -redis 127.0.0.1:6379 -redis-prefix t1: \
//	    -project p -upstreams '{"iam":"http://…","tenant":"http://…","lock":"http://…","folio":"http://…","reservation":"http://…",…}'
//
// The database URL comes from the environment so that its password never
// shows in a process listing. Once serving, it prints its base URL as the
// only line on stdout; it stops on SIGINT/SIGTERM or when its stdin
// closes, so a parent that dies without a word leaves no orphan behind.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	redisAddr := fs.String("redis", "", "Redis address (required)")
	prefix := fs.String("redis-prefix", "", "Redis key prefix, shared by the processes that share a cache (required)")
	project := fs.String("project", "", "Pub/Sub emulator project (required)")
	upstreams := fs.String("upstreams", "", `base URLs of the fakes as JSON {"iam": …, "tenant": …, "lock": …, "folio": …, "<fleet service>": …} (required)`)
	root := fs.String("repo", "", "repository root (default: found from the working directory)")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dbURL := os.Getenv("DATABASE_URL")
	var missing []string
	for name, v := range map[string]string{"-redis": *redisAddr, "-redis-prefix": *prefix, "-project": *project, "-upstreams": *upstreams, "DATABASE_URL": dbURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %v", missing)
	}
	var ups map[string]string
	if err := json.Unmarshal([]byte(*upstreams), &ups); err != nil {
		return fmt.Errorf("-upstreams: %w", err)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	if *root == "" {
		r, err := repo.Root()
		if err != nil {
			return err
		}
		*root = r
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// EOF or an error alike: the parent is gone or wants us gone.
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: *root, Addr: *addr, DatabaseURL: dbURL, RedisAddr: *redisAddr, RedisPrefix: *prefix,
		ProjectID: *project, Upstreams: ups,
		Log: slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lv})),
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	if _, err := fmt.Fprintln(stdout, srv.BaseURL); err != nil {
		return fmt.Errorf("announce base URL: %w", err)
	}
	<-ctx.Done()
	return nil
}
