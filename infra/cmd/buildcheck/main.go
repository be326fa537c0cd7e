// Command buildcheck builds every function the way Google's Go buildpack
// would (see package buildcheck) and prints a table of binary sizes and build
// times. It exits non-zero when any function fails to vendor, fails to build
// offline, or has a binary of 40 MB or more.
//
//	go run ./infra/cmd/buildcheck [-p N] [-max-mb 40] [-keep] [-root DIR] [-generated] [name ...]
//
// With -generated it also builds, in a copy of the repository, one freshly
// generated function of each kind (infra/newfunc.Probe): proof that what
// `go run ./infra/cmd/newfunc` writes deploys as it is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"text/tabwriter"

	"github.com/melmastoon/bff-backoffice/infra/buildcheck"
	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/infra/newfunc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("buildcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parallel := fs.Int("p", runtime.NumCPU(), "functions built at once")
	maxMB := fs.Float64("max-mb", buildcheck.DefaultMaxBinaryBytes/1e6, "fail binaries of this many MB (10^6 bytes) or more")
	keep := fs.Bool("keep", false, "keep the temporary trees and print where they are")
	root := fs.String("root", "", "repository root (default: the directory holding go.work above the working directory)")
	generated := fs.Bool("generated", false, "also build one newly generated function of each kind, in a copy of the repository")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("buildcheck: %w", err)
	}
	if *root == "" {
		r, err := manifest.RepoRoot(".")
		if err != nil {
			return fmt.Errorf("buildcheck: %w", err)
		}
		*root = r
	}
	c := buildcheck.Checker{
		Parallel:       *parallel,
		MaxBinaryBytes: int64(*maxMB * 1e6),
		KeepWorkDir:    *keep,
		Log:            stderr,
	}
	results, runErr := c.Run(ctx, *root, fs.Args())
	if *generated {
		tmp, err := os.MkdirTemp("", "buildcheck-generated-")
		if err != nil {
			return fmt.Errorf("buildcheck: %w", err)
		}
		defer os.RemoveAll(tmp)
		names, err := newfunc.Probe(*root, tmp)
		if err != nil {
			return fmt.Errorf("buildcheck: %w", err)
		}
		more, err := c.Run(ctx, tmp, names)
		results = append(results, more...)
		runErr = errors.Join(runErr, err)
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "function\tentry point\tbinary\tvendor s\tbuild s\tresult\t")
	for _, r := range results {
		size, status := "-", "ok"
		if r.BinaryBytes > 0 {
			size = buildcheck.FormatSize(r.BinaryBytes)
		}
		if r.Err != nil {
			status = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%s\t\n", r.Name, r.EntryPoint, size, r.VendorTime.Seconds(), r.BuildTime.Seconds(), status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("buildcheck: write table: %w", err)
	}
	if *keep {
		for _, r := range results {
			fmt.Fprintf(stderr, "buildcheck: %s kept in %s\n", r.Name, r.WorkDir)
		}
	}
	if runErr != nil && len(results) > 0 {
		// The details went to stderr as each function finished.
		failed := 0
		for _, r := range results {
			if r.Err != nil {
				failed++
			}
		}
		return fmt.Errorf("buildcheck: %d of %d functions failed", failed, len(results))
	}
	return runErr
}
