// Command migrate applies the BFF's schema migrations to one database, as a
// deploy step of its own (functions never migrate at start):
//
//	migrate -database-url postgres://USER@HOST:PORT/DB
//
// USER is bff_owner, or an admin (a superuser locally, Cloud SQL's
// `postgres`), in which case the roles are created when missing and the
// migrations still run as bff_owner (see shared/schema). It prints the
// version before and after, and exits non-zero with the reason on failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/schema"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", "", "Postgres URL of the database to migrate (bff_owner or an admin)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dbURL == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: migrate -database-url URL [-timeout 5m]")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	before, after, err := run(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "migrate %s: %v\n", redact(*dbURL), err)
		return 1
	}
	if before == after {
		fmt.Fprintf(stdout, "%s: schema at version %d, nothing to do\n", redact(*dbURL), after)
	} else {
		fmt.Fprintf(stdout, "%s: migrated from version %d to %d\n", redact(*dbURL), before, after)
	}
	return 0
}

func run(ctx context.Context, dbURL string) (before, after int32, err error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return 0, 0, errors.New("-database-url is not a valid Postgres URL")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	cfg.RuntimeParams["application_name"] = "bff-migrate"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if before, err = schema.Version(ctx, conn); err != nil {
		return 0, 0, err
	}
	if err := schema.Migrate(ctx, conn); err != nil {
		return before, 0, err
	}
	if after, err = schema.Version(ctx, conn); err != nil {
		return before, 0, err
	}
	if after != schema.Latest() {
		return before, after, fmt.Errorf("at version %d after migrating, want %d", after, schema.Latest())
	}
	return before, after, nil
}

// redact names the target without its password, for logs of a deploy.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "database"
	}
	return u.Redacted()
}
