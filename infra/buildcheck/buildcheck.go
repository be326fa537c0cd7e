// Package buildcheck proves, without a cloud account, that every function
// deploys: Google's Go buildpack ignores go.work and uploads only the function
// folder, so a `replace => ../../shared` only builds once vendored. For each
// function this vendors a copy (function + shared), copies the function
// folder alone into a fresh directory, and builds it the way the buildpack
// does — a generated main package calling funcframework.Start, offline, from
// vendor/ only — then checks the binary's size against the 40 MB budget.
//
// The working tree is never touched: vendor/ must stay out of git.
package buildcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
)

// DefaultMaxBinaryBytes is the budget of a function binary: under 40 MB,
// since binary size is cold-start time.
const DefaultMaxBinaryBytes = 40_000_000

// MainDir is the directory, inside the copied function folder, that holds the
// generated main package.
const MainDir = "buildcheck_main"

// Checker builds functions. The zero value is ready to use.
type Checker struct {
	// Parallel is how many functions are vendored and built at once;
	// 0 means runtime.NumCPU().
	Parallel int
	// MaxBinaryBytes fails a function whose binary is this big or bigger;
	// 0 means DefaultMaxBinaryBytes.
	MaxBinaryBytes int64
	// GoBin is the go command; "" means "go" from PATH.
	GoBin string
	// KeepWorkDir leaves the temporary trees behind for inspection.
	KeepWorkDir bool
	// Log receives one line per finished function; nil discards.
	Log io.Writer
}

// Result is the outcome for one function.
type Result struct {
	Name        string
	EntryPoint  string
	BinaryBytes int64
	VendorTime  time.Duration
	BuildTime   time.Duration
	// WorkDir is set when Checker.KeepWorkDir is.
	WorkDir string
	Err     error
}

// Run checks the named functions (all of the manifest when names is empty)
// with a zero Checker.
func Run(ctx context.Context, repoRoot string, names []string) ([]Result, error) {
	var c Checker
	return c.Run(ctx, repoRoot, names)
}

// Run checks the named functions (all of the manifest when names is empty) and
// returns one Result per function in manifest order. The error is non-nil
// when the manifest cannot be read, a name is unknown, or any function fails.
func (c *Checker) Run(ctx context.Context, repoRoot string, names []string) ([]Result, error) {
	m, err := manifest.Load(repoRoot)
	if err != nil {
		return nil, fmt.Errorf("buildcheck: %w", err)
	}
	var fns []manifest.Function
	for _, n := range names {
		if _, ok := m.Lookup(n); !ok {
			return nil, fmt.Errorf("buildcheck: no function %q in %s", n, manifest.File)
		}
	}
	for _, f := range m.Functions {
		if len(names) == 0 || slices.Contains(names, f.Name) {
			fns = append(fns, f)
		}
	}
	goBin := c.GoBin
	if goBin == "" {
		goBin = "go"
	}
	if goBin, err = exec.LookPath(goBin); err != nil {
		return nil, fmt.Errorf("buildcheck: %w", err)
	}
	parallel := c.Parallel
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}

	results := make([]Result, len(fns))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var logMu sync.Mutex
	for i, f := range fns {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = Result{Name: f.Name, EntryPoint: f.EntryPoint, Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			results[i] = c.checkOne(ctx, goBin, repoRoot, f)
			if c.Log != nil {
				logMu.Lock()
				defer logMu.Unlock()
				r := results[i]
				if r.Err != nil {
					fmt.Fprintf(c.Log, "buildcheck: %s: FAIL: %v\n", r.Name, r.Err)
				} else {
					fmt.Fprintf(c.Log, "buildcheck: %s: ok (%s, vendor %.1fs, build %.1fs)\n",
						r.Name, FormatSize(r.BinaryBytes), r.VendorTime.Seconds(), r.BuildTime.Seconds())
				}
			}
		})
	}
	wg.Wait()

	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, r.Err))
		}
	}
	if len(errs) > 0 {
		return results, fmt.Errorf("buildcheck: %d of %d functions failed: %w", len(errs), len(results), errors.Join(errs...))
	}
	return results, nil
}

func (c *Checker) checkOne(ctx context.Context, goBin, repoRoot string, f manifest.Function) (res Result) {
	res = Result{Name: f.Name, EntryPoint: f.EntryPoint}
	work, err := os.MkdirTemp("", "buildcheck-"+f.Name+"-")
	if err != nil {
		res.Err = fmt.Errorf("temp dir: %w", err)
		return res
	}
	if c.KeepWorkDir {
		res.WorkDir = work
	} else {
		defer func() {
			if err := os.RemoveAll(work); err != nil && res.Err == nil {
				res.Err = fmt.Errorf("remove %s: %w", work, err)
			}
		}()
	}

	fnSrc := filepath.Join(repoRoot, filepath.FromSlash(f.Dir()))
	if _, err := os.Stat(filepath.Join(fnSrc, "go.mod")); err != nil {
		res.Err = fmt.Errorf("function module: %w", err)
		return res
	}

	// Stage 1: the function beside shared/, as in the repository, so the
	// replace directive resolves while vendoring.
	stage := filepath.Join(work, "stage")
	stagedFn := filepath.Join(stage, filepath.FromSlash(f.Dir()))
	if err := copyTree(fnSrc, stagedFn, true); err != nil {
		res.Err = err
		return res
	}
	if err := copyTree(filepath.Join(repoRoot, "shared"), filepath.Join(stage, "shared"), true); err != nil {
		res.Err = err
		return res
	}
	start := time.Now()
	if err := runGo(ctx, goBin, stagedFn, vendorEnv(), "mod", "vendor"); err != nil {
		res.Err = fmt.Errorf("go mod vendor: %w", err)
		return res
	}
	res.VendorTime = time.Since(start)

	// Stage 2: the function folder alone, which is all the buildpack sees.
	src := filepath.Join(work, "upload")
	if err := copyTree(stagedFn, src, false); err != nil {
		res.Err = err
		return res
	}
	if err := writeMain(src, f); err != nil {
		res.Err = err
		return res
	}
	emptyModCache := filepath.Join(work, "modcache")
	if err := os.Mkdir(emptyModCache, 0o755); err != nil {
		res.Err = fmt.Errorf("module cache dir: %w", err)
		return res
	}
	bin := filepath.Join(work, "bin", f.Name)
	start = time.Now()
	err = runGo(ctx, goBin, src, buildEnv(emptyModCache),
		"build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+MainDir)
	res.BuildTime = time.Since(start)
	if err != nil {
		if strings.Contains(err.Error(), "functions-framework-go/funcframework") {
			err = fmt.Errorf("%w\n(vendoring carries funcframework only when something the function links imports it: shared/boot does, so the function must use boot)", err)
		}
		res.Err = fmt.Errorf("go build (as the buildpack, offline from vendor/): %w", err)
		return res
	}
	fi, err := os.Stat(bin)
	if err != nil {
		res.Err = fmt.Errorf("binary: %w", err)
		return res
	}
	res.BinaryBytes = fi.Size()
	limit := c.MaxBinaryBytes
	if limit <= 0 {
		limit = DefaultMaxBinaryBytes
	}
	if res.BinaryBytes >= limit {
		res.Err = fmt.Errorf("binary is %s, budget is under %s", FormatSize(res.BinaryBytes), FormatSize(limit))
	}
	return res
}

// mainTemplate mirrors the main package the Go functions buildpack generates:
// it links the function package for its init() registration and serves the
// target named by FUNCTION_TARGET.
var mainTemplate = template.Must(template.New("main").Parse(`// Code generated by infra/buildcheck; DO NOT EDIT.

package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "{{.Module}}"
)

func main() {
	port := "8080"
	if p := os.Getenv("PORT"); p != "" {
		port = p
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("funcframework.Start: %v", err)
	}
}
`))

func writeMain(src string, f manifest.Function) error {
	dir := filepath.Join(src, MainDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("generate main: %w", err)
	}
	var b strings.Builder
	if err := mainTemplate.Execute(&b, struct{ Module string }{f.Module()}); err != nil {
		return fmt.Errorf("generate main: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("generate main: %w", err)
	}
	return nil
}

// vendorEnv may reach the module proxy: vendoring is the step deploy.sh runs
// on a developer machine, not inside the buildpack.
func vendorEnv() []string {
	return withEnv(os.Environ(), map[string]string{
		"GOWORK":  "off",
		"GOFLAGS": "-mod=mod",
	})
}

// buildEnv is the buildpack's environment, made stricter: no network, no
// module cache, no toolchain download, no cgo — so anything not in vendor/
// fails here instead of in Cloud Build.
func buildEnv(emptyModCache string) []string {
	return withEnv(os.Environ(), map[string]string{
		"GOWORK":      "off",
		"GOFLAGS":     "-mod=vendor",
		"GOPROXY":     "off",
		"GOTOOLCHAIN": "local",
		"GOMODCACHE":  emptyModCache,
		"CGO_ENABLED": "0",
	})
}

func withEnv(env []string, set map[string]string) []string {
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

func runGo(ctx context.Context, goBin, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
		}
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, msg)
	}
	return nil
}

// copyTree copies regular files and directories from src to dst. With
// skipVendor it leaves out a vendor/ directory at the root of src: a working
// tree may hold a stale one, and the check must vendor from go.mod itself.
func copyTree(src, dst string, skipVendor bool) error {
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if (skipVendor && rel == "vendor") || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		default:
			// Symlinks and devices would not survive an upload either.
			return fmt.Errorf("%s: not a regular file", path)
		}
	})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// FormatSize renders bytes in decimal megabytes, the unit of the budget.
func FormatSize(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
