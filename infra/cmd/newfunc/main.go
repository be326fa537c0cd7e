// Command newfunc adds a function to the repository: its module, go.work
// entry, manifest entry, dev-server registration and terraform module, and
// prints what is left to write.
//
//	go run ./infra/cmd/newfunc -kind http -route 'GET /v1/devices' devices
//	go run ./infra/cmd/newfunc -kind event -trigger melmastoon.iam.device.deleted.v1 device-deleted
//	go run ./infra/cmd/newfunc -kind job -schedule '*/1 * * * *' heartbeat-sweeper
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/infra/newfunc"
)

type routes []string

func (r *routes) String() string     { return strings.Join(*r, ", ") }
func (r *routes) Set(v string) error { *r = append(*r, v); return nil }

func main() { os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr)) }

func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("newfunc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		s     newfunc.Spec
		rs    routes
		kind  = fs.String("kind", "", "http, event or job (scheduled)")
		needs = fs.String("needs", "", "comma-separated manifest needs (default: the kind's usual ones)")
		root  = fs.String("root", ".", "the repository root")
	)
	fs.Var(&rs, "route", `"METHOD /path" (http; repeat for several)`)
	fs.StringVar(&s.Trigger, "trigger", "", "the consumed subject (event)")
	fs.StringVar(&s.Schedule, "schedule", "", "unix-cron in UTC (job; default every 5 minutes)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: newfunc -kind http|event|job [-route R]… [-trigger S] [-schedule C] [-needs a,b] NAME")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	s.Name, s.Routes = fs.Arg(0), rs
	s.Kind = manifest.Kind(*kind)
	if *kind == "job" {
		s.Kind = manifest.KindScheduled
	}
	if *needs != "" {
		for _, n := range strings.Split(*needs, ",") {
			s.Needs = append(s.Needs, manifest.Need(strings.TrimSpace(n)))
		}
	}
	r, err := manifest.RepoRoot(*root)
	if err != nil {
		fmt.Fprintln(stderr, "newfunc:", err)
		return 1
	}
	left, err := newfunc.Generate(r, s)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "created functions/%s (module, go.work, manifest, dev server, terraform). Left to write:\n", s.Name)
	for _, l := range left {
		fmt.Fprintln(stdout, "  -", l)
	}
	return 0
}
