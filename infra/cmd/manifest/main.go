// Command manifest prints functions/manifest.json in shapes shell scripts can
// read with `read -r`, so deploy.sh never parses JSON itself.
//
//	manifest [-root DIR] list          name kind entryPoint trigger-or-dash, one line per function
//	manifest [-root DIR] needs NAME    the function's needs, space-separated (empty line if none)
//	manifest [-root DIR] sizing NAME   timeoutSeconds memory cpu concurrency minInstances maxInstances
//	manifest [-root DIR] schedule NAME the cron expression of a scheduled function
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
)

func main() {
	if err := realMain(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "manifest:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: manifest [-root DIR] list | needs NAME | sizing NAME | schedule NAME")

func realMain(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	root := fs.String("root", "", "repository root (default: the directory holding go.work above the working directory)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() == 0 {
		return errUsage
	}
	if *root == "" {
		r, err := manifest.RepoRoot(".")
		if err != nil {
			return err
		}
		*root = r
	}
	m, err := manifest.Load(*root)
	if err != nil {
		return err
	}

	w := bufio.NewWriter(stdout)
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "list" {
		if len(rest) != 0 {
			return errUsage
		}
		for _, f := range m.Functions {
			trigger := "-"
			if f.Kind == manifest.KindEvent {
				trigger = f.Trigger
			}
			fmt.Fprintf(w, "%s %s %s %s\n", f.Name, f.Kind, f.EntryPoint, trigger)
		}
		return flush(w)
	}

	if len(rest) != 1 {
		return errUsage
	}
	f, ok := m.Lookup(rest[0])
	if !ok {
		return fmt.Errorf("no function %q in %s", rest[0], manifest.File)
	}
	switch cmd {
	case "needs":
		needs := make([]string, len(f.Needs))
		for i, n := range f.Needs {
			needs[i] = string(n)
		}
		fmt.Fprintln(w, strings.Join(needs, " "))
	case "sizing":
		s := f.Sizing()
		fmt.Fprintf(w, "%d %s %s %d %d %d\n", s.TimeoutSeconds, s.Memory, s.CPU, s.Concurrency, s.MinInstances, s.MaxInstances)
	case "schedule":
		if f.Kind != manifest.KindScheduled {
			return fmt.Errorf("function %q is %s, not scheduled", f.Name, f.Kind)
		}
		fmt.Fprintln(w, f.Schedule)
	default:
		return errUsage
	}
	return flush(w)
}

func flush(w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
