// Command dev is `make dev`: the whole stack on this machine with no cloud
// account — its own Postgres cluster and Redis, the Pub/Sub and Firestore
// emulators, the fakes of upstream services seeded with the demo hotel
// group, migrations applied, and every function served by one dev server.
// It writes .dev/stack.json, prints how to call it, and stops everything it
// started on Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/devdb"
	"github.com/melmastoon/bff-backoffice/infra/devserver"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/infra/localstack"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = orphanGuard(ctx)
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr := flag.String("addr", "127.0.0.1:8080", "dev server address (port 0 picks a free one; taken → a free one)")
	project := flag.String("project", "melmastoon-dev", "emulator project id")
	flag.Parse()

	root, err := repo.Root()
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Println("starting Postgres, Redis and the Pub/Sub and Firestore emulators…")
	st, err := localstack.Start(ctx, localstack.Options{})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping the stack…")
		if err := st.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dev: stop:", err)
		}
	}()
	for _, kv := range st.Env() {
		k, v, _ := cut(kv)
		_ = os.Setenv(k, v)
	}
	urls, err := devdb.Provision(ctx, st.PGAdminURL, "bff")
	if err != nil {
		return err
	}
	log := logging.New(os.Stdout, slog.LevelInfo, *project)
	srv, err := devserver.Start(ctx, devserver.Options{
		RepoRoot: root, Addr: *addr, DatabaseURL: urls.App, JobsDatabaseURL: urls.Jobs, RedisAddr: st.RedisAddr,
		ProjectID: *project, PushSubscriptions: true,
		UpstreamLatency: [2]time.Duration{2 * time.Millisecond, 8 * time.Millisecond}, Log: log,
	})
	if err != nil && *addr != "127.0.0.1:0" {
		fmt.Printf("%s unavailable (%v); using a free port\n", *addr, err)
		srv, err = devserver.Start(ctx, devserver.Options{
			RepoRoot: root, Addr: "127.0.0.1:0", DatabaseURL: urls.App, JobsDatabaseURL: urls.Jobs, RedisAddr: st.RedisAddr,
			ProjectID: *project, PushSubscriptions: true,
			UpstreamLatency: [2]time.Duration{2 * time.Millisecond, 8 * time.Millisecond}, Log: log,
		})
	}
	if err != nil {
		return err
	}
	defer srv.Close()

	sf, err := srv.StackFile(root)
	if err != nil {
		return err
	}
	sf.PubsubEmulatorHost, sf.FirestoreEmulatorHost = st.PubsubHost, st.FirestoreHost
	path := filepath.Join(root, ".dev", "stack.json")
	if err := writeJSON(path, sf); err != nil {
		return err
	}
	printHowTo(sf, path, time.Since(start))
	<-ctx.Done()
	return nil
}

// orphanGuard ends ctx when the process that started us (make, go run)
// dies without passing a signal on, so the stack is never left running.
func orphanGuard(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	parent := os.Getppid()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent {
					cancel()
					return
				}
			}
		}
	}()
	return ctx
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Tokens are in it: readable by the developer only.
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(path+".tmp", path)
}

func printHowTo(sf *devserver.StackFile, path string, took time.Duration) {
	var tok, who string
	for _, t := range sf.Tenants {
		for _, o := range t.Operators {
			if len(o.PropertyScope) > 0 && len(o.Devices) > 0 && tok == "" {
				tok, who = o.Devices[0].Token, fmt.Sprintf("%s (%v) of %s", o.Name, o.Roles, t.Name)
			}
		}
	}
	fmt.Printf("\nMelmastoon back-office BFF is up in %s at %s\n", took.Round(time.Millisecond), sf.BaseURL)
	fmt.Printf("stack description (tokens for every demo device): %s\n", path)
	for _, name := range slices.Sorted(maps.Keys(sf.Upstreams)) {
		fmt.Printf("  fake %-16s %s  (GET /__stats, POST /__faults)\n", name, sf.Upstreams[name])
	}
	if tok != "" {
		fmt.Printf("\nas %s:\n  curl -s -H 'Authorization: Bearer %s' %s/v1/session\n", who, tok, sf.BaseURL)
		fmt.Printf("  (then /v1/dashboard, /v1/arrivals, … with the same header)\n")
	}
	fmt.Printf("\nscheduled functions run when called (Cloud Scheduler's part):\n")
	for _, j := range sf.Jobs {
		fmt.Printf("  curl -s -X POST %s/_jobs/%s\n", sf.BaseURL, j)
	}
	if u := sf.Upstreams["bigquery"]; u != "" {
		fmt.Printf("  (what export-activity loaded: curl -s %s/__tables/melmastoon_audit/operator_activity/rows)\n", u)
	}
	fmt.Println("\nCtrl-C stops everything.")
}
