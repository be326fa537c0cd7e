// Command bench is `make bench`: it runs the scenarios of infra/bench
// against the stack `infra/cmd/stack run` starts, prints a table per
// scenario and writes each as JSON to bench/results/<UTC stamp>-<name>.json.
//
//	go run ./infra/cmd/stack run -- go run ./infra/cmd/bench [-only a,b] [-duration 5s] [-out dir]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/bench"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var names []string
	for _, s := range bench.Scenarios() {
		names = append(names, s.Name)
	}
	only := fs.String("only", "", "comma-separated scenarios to run (default all: "+strings.Join(names, ", ")+")")
	duration := fs.Duration("duration", 0, "measured time of each run (default: each scenario's own, 5s or 10s)")
	warmup := fs.Duration("warmup", time.Second, "discarded warm-up before each run")
	out := fs.String("out", "bench/results", "directory for the JSON files; relative paths are from the repository root")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (client and servers share the process) to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	scenarios, err := bench.ByName(*only)
	if err != nil {
		return err
	}
	root, err := repo.Root()
	if err != nil {
		return err
	}
	stack, err := bench.StackFromEnv(root)
	if err != nil {
		return err
	}
	dir := *out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	stamp := bench.Stamp(time.Now())
	m := bench.ThisMachine()
	fmt.Fprintf(stdout, "bench %s on %s/%s, %d CPUs (%s), %s\n", stamp, m.GOOS, m.GOARCH, m.NumCPU, m.CPUModel, m.GoVersion)
	opts := bench.Options{Duration: *duration, Warmup: *warmup}
	var failed []error
	for _, s := range scenarios {
		fmt.Fprintf(stderr, "bench: %s — %s\n", s.Name, s.About)
		if err := runOne(ctx, stack, stamp, dir, s, opts, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			failed = append(failed, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(failed...)
}

// runOne gives the scenario its own database and Redis prefix, removed
// afterwards also when it fails.
func runOne(ctx context.Context, stack bench.Stack, stamp, dir string, s bench.Scenario, opts bench.Options, stdout, stderr io.Writer) (err error) {
	env, cleanup, err := stack.Prepare(ctx, stamp, s.Name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cleanup(); cerr != nil {
			// Leftovers of a throw-away stack are not worth failing for.
			fmt.Fprintf(stderr, "bench: %s: clean up: %v\n", s.Name, cerr)
		}
	}()
	rep, err := s.Run(ctx, env, opts)
	if err != nil {
		return err
	}
	if err := bench.PrintTable(stdout, rep); err != nil {
		return err
	}
	path, err := bench.WriteJSON(dir, stamp, rep)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(env.RepoRoot, path); err == nil && !strings.HasPrefix(rel, "..") {
		path = rel
	}
	fmt.Fprintf(stdout, "  → %s\n", path)
	return nil
}
