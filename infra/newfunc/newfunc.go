// Package newfunc adds a function to the repository the one way it is done:
// its module (function.go, go.mod and go.sum by `go mod tidy`, the go.work
// entry), its manifest entry, its registration in the dev server and its
// terraform module. What only a person can write — the OpenAPI paths of an
// HTTP function, the handler's logic, a new event subject — is returned as
// a list of what is left to do.
//
// The layout forces repetition (a module per function, because Cloud Run
// functions' buildpack deploys one folder alone); generating it, and a test
// that the generated result builds alone, registers and passes every
// manifest check, keeps the repetition out of review.
package newfunc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
)

// RegistryFile is where the dev server lists every function; Generate adds
// the new one to it.
const RegistryFile = "infra/devserver/functions.go"

// registryVar opens the list Generate appends to.
const registryVar = "var Functions = []boot.Function{"

// Spec is what a new function is.
type Spec struct {
	Name string
	Kind manifest.Kind
	// Routes are "METHOD /path" (http): the function's whole surface.
	Routes []string
	// Trigger is the consumed subject (event).
	Trigger string
	// Schedule is a unix-cron expression in UTC (scheduled).
	Schedule string
	// Needs are the manifest needs; empty means the kind's usual ones.
	Needs []manifest.Need
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Package is the Go package name of function name ("device-heartbeat" →
// "deviceheartbeat").
func Package(name string) string { return strings.ReplaceAll(name, "-", "") }

// EntryPoint is the deployed entry point of function name
// ("device-heartbeat" → "DeviceHeartbeat").
func EntryPoint(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func (s *Spec) normalize() error {
	var errs []error
	if len(s.Name) > 40 || !nameRE.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name %q: want lower-case words joined by '-', at most 40 characters", s.Name))
	}
	switch s.Kind {
	case manifest.KindHTTP:
		if len(s.Routes) == 0 {
			errs = append(errs, errors.New("an http function needs at least one -route"))
		}
		for _, r := range s.Routes {
			if _, err := manifest.ParseRoute(r); err != nil {
				errs = append(errs, err)
			}
		}
		if s.Needs == nil {
			s.Needs = []manifest.Need{manifest.NeedPostgres, manifest.NeedRedis, manifest.NeedPubSub, manifest.NeedIAM, manifest.NeedTenant}
		}
	case manifest.KindEvent:
		if s.Trigger == "" {
			errs = append(errs, errors.New("an event function needs a -trigger subject"))
		}
		if s.Needs == nil {
			s.Needs = []manifest.Need{manifest.NeedRedis}
		}
	case manifest.KindScheduled:
		if s.Schedule == "" {
			s.Schedule = "*/5 * * * *"
		}
		if s.Needs == nil {
			s.Needs = []manifest.Need{manifest.NeedJobsPostgres, manifest.NeedPubSub}
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q: want http, event or scheduled (job)", s.Kind))
	}
	return errors.Join(errs...)
}

// Generate writes function s into the repository at root and returns what
// is left for a person to write. It refuses a name the manifest already has,
// and leaves no half-made function behind on a failure before go.mod is
// tidied.
func Generate(root string, s Spec) (left []string, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("newfunc.Generate(%s): %w", s.Name, err)
		}
	}()
	if err := s.normalize(); err != nil {
		return nil, err
	}
	m, err := manifest.Load(root)
	if err != nil {
		return nil, err
	}
	if _, dup := m.Lookup(s.Name); dup {
		return nil, fmt.Errorf("functions/manifest.json already has %q", s.Name)
	}
	dir := filepath.Join(root, "functions", s.Name)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%s exists", dir)
	}
	fn := manifest.Function{Name: s.Name, Kind: s.Kind, EntryPoint: EntryPoint(s.Name), Routes: s.Routes,
		Trigger: s.Trigger, Schedule: s.Schedule, Needs: s.Needs}
	// Everything that can fail on its own before anything is written.
	registry, err := registered(root, s.Name)
	if err != nil {
		return nil, err
	}
	gomod, err := goMod(root, fn)
	if err != nil {
		return nil, err
	}
	code, err := render(functionTemplates[s.Kind], fn)
	if err != nil {
		return nil, err
	}
	src, err := format.Source(code)
	if err != nil {
		return nil, fmt.Errorf("generated function.go does not parse: %w", err)
	}
	tf, err := render(terraformTemplate, fn)
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, "function.go"), src, 0o644); err != nil {
		cleanup()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomod, 0o644); err != nil {
		cleanup()
		return nil, err
	}
	// go.sum and the indirect requires come from the module graph, not from
	// a copy of another function's: tidy alone, as the buildpack builds.
	if err := goCmd(dir, "mod", "tidy"); err != nil {
		cleanup()
		return nil, err
	}
	if err := goCmd(root, "work", "use", "./functions/"+s.Name); err != nil {
		return nil, err
	}
	if err := addToManifest(root, fn); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, RegistryFile), registry, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "terraform", "fn_"+strings.ReplaceAll(s.Name, "-", "_")+".tf"), tf, 0o644); err != nil {
		return nil, err
	}
	return leftToDo(fn), nil
}

func leftToDo(fn manifest.Function) []string {
	left := []string{"functions/" + fn.Name + "/function.go: the function's logic (search for TODO(newfunc)) and its tests"}
	switch fn.Kind {
	case manifest.KindHTTP:
		for _, r := range fn.Routes {
			left = append(left, "openapi.yaml: the operation "+r+" (parameters with bounds, every response, an example), then `make test` checks it against the manifest")
		}
		left = append(left, "the role/BOLA sweep: a row for each route and role")
	case manifest.KindEvent:
		left = append(left, "shared/events/subjects.go and terraform/pubsub.tf: "+fn.Trigger+" among the consumed subjects, if it is new")
	case manifest.KindScheduled:
		left = append(left, "the job's summary type; .dev/stack.json lists it under jobs and `POST /_jobs/"+fn.Name+"` runs it on the dev server")
	}
	left = append(left, "terraform/fn_"+strings.ReplaceAll(fn.Name, "-", "_")+".tf: the topics it publishes to, if any",
		"README.md: the function in the list of functions")
	return left
}

// goMod is the new module's go.mod: the go line and the framework version
// of the function modules already there, so they move together.
func goMod(root string, fn manifest.Function) ([]byte, error) {
	goLine, ffVersion := "", ""
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(root, "functions", e.Name(), "go.mod"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 2 && f[0] == "go":
				goLine = f[1]
			case len(f) >= 2 && f[0] == "github.com/GoogleCloudPlatform/functions-framework-go":
				ffVersion = f[1]
			}
		}
		if goLine != "" && ffVersion != "" {
			break
		}
	}
	if goLine == "" || ffVersion == "" {
		return nil, errors.New("no existing function module to take the go line and framework version from")
	}
	return fmt.Appendf(nil, `module %s

go %s

require (
	github.com/GoogleCloudPlatform/functions-framework-go %s
	github.com/melmastoon/bff-backoffice/shared v0.0.0
)

replace github.com/melmastoon/bff-backoffice/shared => ../../shared
`, fn.Module(), goLine, ffVersion), nil
}

func goCmd(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	if args[0] == "mod" {
		// The module alone, as the buildpack sees it.
		cmd.Env = append(os.Environ(), "GOWORK=off")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// addToManifest appends fn, keeping the file's layout (two-space JSON).
func addToManifest(root string, fn manifest.Function) error {
	path := filepath.Join(root, manifest.File)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m manifest.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	m.Functions = append(m.Functions, fn)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return err
	}
	if _, err := manifest.Parse(buf.Bytes()); err != nil {
		return fmt.Errorf("the manifest with %s would be invalid: %w", fn.Name, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// registered returns the dev server's registry with the new function added.
func registered(root, name string) ([]byte, error) {
	path := filepath.Join(root, RegistryFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	src := string(data)
	alias := Package(name)
	if strings.Contains(src, "\t"+alias+" ") || strings.Contains(src, "/"+alias+"\"") || slices.Contains([]string{"boot", "http", "manifest"}, alias) {
		alias += "fn"
	}
	imp := "import ("
	i := strings.Index(src, imp)
	open := strings.Index(src, registryVar)
	if i < 0 || open < 0 {
		return nil, fmt.Errorf("%s: no %q block or %q list to add to", RegistryFile, imp, registryVar)
	}
	end := strings.Index(src[open:], "\n}")
	if end < 0 {
		return nil, fmt.Errorf("%s: the %q list does not end", RegistryFile, registryVar)
	}
	end += open
	src = src[:end] + "\n\t" + alias + ".Function," + src[end:]
	src = src[:i+len(imp)] + "\n\t" + alias + ` "` + manifest.ModulePrefix + name + `"` + src[i+len(imp):]
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("%s with %s does not parse: %w", RegistryFile, name, err)
	}
	return out, nil
}

func render(t *template.Template, fn manifest.Function) ([]byte, error) {
	var buf bytes.Buffer
	data := struct {
		manifest.Function
		Package, Module string
	}{fn, Package(fn.Name), strings.ReplaceAll(fn.Name, "-", "_")}
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return buf.Bytes(), nil
}
