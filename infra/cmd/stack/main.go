// Command stack runs a command against a local stack (Postgres, Redis, the
// Pub/Sub and Firestore emulators) that it starts, or reuses when the
// environment already names reachable ones, and stops afterwards:
//
//	go run ./infra/cmd/stack run [-no-emulators] [-timeout 90s] -- go test -race ./...
//
// The command's environment gets BFF_TEST_PG_ADMIN_URL, BFF_TEST_REDIS_ADDR,
// PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST. stack exits with the
// command's exit code (128+signal when a signal ended it), and leaves nothing
// running, also on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/localstack"
)

// killGrace is how long the command gets to exit after a forwarded signal
// before its process group is killed.
const killGrace = 15 * time.Second

func main() {
	os.Exit(realMain(os.Args[1:], os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: stack run [-no-emulators] [-timeout d] -- <cmd> [args…]")
}

func realMain(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	noEmulators := fs.Bool("no-emulators", false, "do not start the Pub/Sub and Firestore emulators")
	durable := fs.Bool("durable-postgres", false, "keep Postgres fsync and synchronous commit on (benchmarks)")
	timeout := fs.Duration("timeout", 90*time.Second, "start-up timeout per server")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	argv := fs.Args()
	if len(argv) == 0 {
		usage(stderr)
		return 2
	}

	// Registered before anything starts so that no signal can kill us
	// between starting a server and being ready to stop it.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	began := time.Now()
	st, sig, err := start(sigs, localstack.Options{NoEmulators: *noEmulators, DurablePostgres: *durable, Timeout: *timeout})
	if err != nil {
		fmt.Fprintf(stderr, "stack: %v\n", err)
		if sig != nil {
			return exitCodeForSignal(sig)
		}
		return 1
	}
	defer func() {
		if err := st.Stop(); err != nil {
			fmt.Fprintf(stderr, "stack: %v\n", err)
		}
	}()
	for _, svc := range st.Services() {
		fmt.Fprintln(stderr, "stack: "+describe(svc))
	}
	fmt.Fprintf(stderr, "stack: ready in %s\n", time.Since(began).Round(100*time.Millisecond))
	if sig != nil {
		return exitCodeForSignal(sig)
	}
	return runChild(argv, st.Env(), sigs, stderr)
}

// start runs localstack.Start, abandoning it on the first signal. It returns
// the signal when one came, also if Start had succeeded by then.
func start(sigs <-chan os.Signal, opts localstack.Options) (*localstack.Stack, os.Signal, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan os.Signal, 1)
	done := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case s := <-sigs:
			got <- s
			cancel()
		case <-done:
		}
	}()
	st, err := localstack.Start(ctx, opts)
	close(done)
	<-watcherDone
	select {
	case s := <-got:
		if err == nil {
			if stopErr := st.Stop(); stopErr != nil {
				return nil, s, fmt.Errorf("interrupted (%v); %w", s, stopErr)
			}
			return nil, s, fmt.Errorf("interrupted (%v); stack stopped", s)
		}
		return nil, s, fmt.Errorf("interrupted (%v): %w", s, err)
	default:
	}
	return st, nil, err
}

// runChild runs argv in its own process group with the stack's variables,
// forwarding signals to the whole group (go test and go run have children
// of their own), and returns its exit code.
func runChild(argv, stackEnv []string, sigs <-chan os.Signal, stderr io.Writer) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Drop inherited values first: a variable naming an unreachable server
	// must not shadow the stack's (or, for skipped emulators, survive).
	cmd.Env = append(environWithout(localstack.EnvPGAdminURL, localstack.EnvRedisAddr,
		localstack.EnvPubsubHost, localstack.EnvFirestoreHost), stackEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "stack: run %s: %v\n", argv[0], err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var (
		forwarded os.Signal
		deadline  <-chan time.Time
		err       error
	)
loop:
	for {
		select {
		case err = <-waited:
			break loop
		case s := <-sigs:
			if forwarded == nil {
				forwarded = s
				_ = syscall.Kill(-pgid, s.(syscall.Signal))
				deadline = time.After(killGrace)
				continue
			}
			// A second signal: the user means it.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		case <-deadline:
			fmt.Fprintf(stderr, "stack: %s still running %s after %v; killing it\n", argv[0], killGrace, forwarded)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
	// Whatever the command left behind in its group (a test's stray server)
	// goes too: nothing may outlive the run.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)

	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitCodeForSignal(ws.Signal())
		}
		return exitErr.ExitCode()
	default:
		fmt.Fprintf(stderr, "stack: wait %s: %v\n", argv[0], err)
		return 1
	}
}

func exitCodeForSignal(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

func describe(svc localstack.Service) string {
	switch {
	case svc.Addr == "":
		return fmt.Sprintf("%-9s %s", svc.Name, svc.Detail)
	case svc.Reused:
		return fmt.Sprintf("%-9s reused  %s (%s)", svc.Name, svc.Addr, svc.Detail)
	default:
		return fmt.Sprintf("%-9s started %s (%s)", svc.Name, svc.Addr, svc.Detail)
	}
}

// environWithout returns os.Environ minus the named variables.
func environWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			if name == n {
				drop = true
				break
			}
		}
		if !drop {
			env = append(env, kv)
		}
	}
	return env
}
