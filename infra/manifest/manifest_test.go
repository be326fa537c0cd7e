package manifest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/shared/events"
)

// The checks below hold every consumer of functions/manifest.json to it:
// function modules, go.work, openapi.yaml, deploy.sh and terraform/.

func repo(t *testing.T) (string, *manifest.Manifest) {
	t.Helper()
	root, err := manifest.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, m
}

func TestParse(t *testing.T) {
	t.Parallel()
	const ok = `{"functions": [
		{"name": "session", "kind": "http", "entryPoint": "Session", "routes": ["GET /v1/session", "DELETE /v1/session"], "needs": ["postgres", "redis"]},
		{"name": "session-revoked", "kind": "event", "entryPoint": "SessionRevoked", "trigger": "melmastoon.iam.session.revoked.v1", "needs": []},
		{"name": "retention", "kind": "scheduled", "entryPoint": "Retention", "schedule": "17 3 * * *", "needs": ["jobs-postgres"], "deploy": {"timeoutSeconds": 1800}}
	]}`
	m, err := manifest.Parse([]byte(ok))
	if err != nil {
		t.Fatalf("Parse(valid) = %v", err)
	}
	if got, want := m.Names(), []string{"session", "session-revoked", "retention"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	f, _ := m.Lookup("retention")
	if diff := cmp.Diff(manifest.Sizing{TimeoutSeconds: 1800, Memory: "512Mi", CPU: "1", Concurrency: 1, MaxInstances: 1}, f.Sizing()); diff != "" {
		t.Errorf("Sizing (-want +got):\n%s", diff)
	}
	if got := f.TerraformModule(); got != "fn_retention" {
		t.Errorf("TerraformModule() = %q", got)
	}
	if f, _ := m.Lookup("session-revoked"); f.TerraformModule() != "fn_session_revoked" {
		t.Errorf("TerraformModule() = %q", f.TerraformModule())
	}

	fn := func(body string) string { return `{"functions": [` + body + `]}` }
	cases := []struct {
		name, json, wantErr string
	}{
		{"empty", `{"functions": []}`, "no functions"},
		{"unknown field", fn(`{"name": "a-b", "kind": "event", "entryPoint": "A", "trigger": "topic.x", "needs": [], "triger": "x"}`), "unknown field"},
		{"duplicate name", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": []}, {"name": "ab", "kind": "event", "entryPoint": "B", "trigger": "tpc", "needs": []}`), "duplicate name"},
		{"duplicate entry point", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": []}, {"name": "cd", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": []}`), "already used"},
		{"bad name", fn(`{"name": "Ab_c", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": []}`), "name must match"},
		{"name too long for a service account", fn(`{"name": "abcdefghijklmnopqrstuvwx", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": []}`), "name must match"},
		{"unexported entry point", fn(`{"name": "ab", "kind": "event", "entryPoint": "a", "trigger": "tpc", "needs": []}`), "exported Go identifier"},
		{"bad kind", fn(`{"name": "ab", "kind": "cron", "entryPoint": "A", "needs": []}`), "kind must be"},
		{"http without routes", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "needs": []}`), "without routes"},
		{"route without method", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "routes": ["/v1/x"], "needs": []}`), "METHOD /path"},
		{"route with bad method", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "routes": ["FETCH /v1/x"], "needs": []}`), "METHOD /path"},
		{"route with bad segment", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "routes": ["GET /v1//x"], "needs": []}`), "bad path segment"},
		{"route ending in z", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "routes": ["GET /v1/quiz"], "needs": []}`), "ending in"},
		{"health as a route", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "routes": ["GET /health"], "needs": []}`), "/health"},
		{"route served twice", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "routes": ["POST /v1/x/{id}"], "needs": []}, {"name": "cd", "kind": "http", "entryPoint": "B", "routes": ["POST /v1/x/{xId}"], "needs": []}`), "already served"},
		{"http with trigger", fn(`{"name": "ab", "kind": "http", "entryPoint": "A", "routes": ["GET /v1/x"], "trigger": "tpc", "needs": []}`), "with trigger"},
		{"event without trigger", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "needs": []}`), "needs trigger"},
		{"event with google topic", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "goog-x", "needs": []}`), "needs trigger"},
		{"event with routes", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "routes": ["GET /v1/x"], "needs": []}`), "with routes"},
		{"scheduled without schedule", fn(`{"name": "ab", "kind": "scheduled", "entryPoint": "A", "needs": []}`), "unix-cron"},
		{"scheduled with six fields", fn(`{"name": "ab", "kind": "scheduled", "entryPoint": "A", "schedule": "0 */5 * * * *", "needs": []}`), "unix-cron"},
		{"scheduled with bad field", fn(`{"name": "ab", "kind": "scheduled", "entryPoint": "A", "schedule": "0 5 * * ?", "needs": []}`), "bad field"},
		{"unknown need", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": ["mysql"]}`), "unknown need"},
		{"need twice", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": ["redis", "redis"]}`), "listed twice"},
		{"event timeout too long", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": [], "deploy": {"timeoutSeconds": 600}}`), "timeoutSeconds"},
		{"bad memory", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": [], "deploy": {"memory": "1GB"}}`), "deploy.memory"},
		{"min above max", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": [], "deploy": {"minInstances": 3, "maxInstances": 2}}`), "minInstances"},
		{"concurrency on a fraction of a cpu", fn(`{"name": "ab", "kind": "event", "entryPoint": "A", "trigger": "tpc", "needs": [], "deploy": {"cpu": "0.5"}}`), "needs cpu >= 1"},
		{"trailing data", `{"functions": []} {}`, "trailing data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := manifest.Parse([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRepositoryManifestIsValid(t *testing.T) {
	t.Parallel()
	repo(t) // Load validates.
}

// goModule returns the module path and go version of a go.mod file.
func goModule(t *testing.T, path string) (module, goVersion string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			module = strings.Trim(f[1], `"`)
		}
		if len(f) >= 2 && f[0] == "go" {
			goVersion = f[1]
		}
	}
	return module, goVersion
}

// Cloud Run functions' newest Go runtime is go126: a module whose go line
// is newer cannot build there.
const newestRuntimeGo = "1.26"

func TestFunctionModulesMatchManifest(t *testing.T) {
	t.Parallel()
	root, m := repo(t)
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "go.mod")); err == nil {
			dirs = append(dirs, e.Name())
		}
	}
	for _, d := range dirs {
		if _, ok := m.Lookup(d); !ok {
			t.Errorf("functions/%s has a go.mod but is not in %s", d, manifest.File)
		}
	}
	for _, f := range m.Functions {
		if !slices.Contains(dirs, f.Name) {
			t.Errorf("%s lists %q but functions/%s/go.mod does not exist", manifest.File, f.Name, f.Name)
			continue
		}
		mod, goVer := goModule(t, filepath.Join(root, "functions", f.Name, "go.mod"))
		if mod != f.Module() {
			t.Errorf("functions/%s/go.mod: module %q, want %q", f.Name, mod, f.Module())
		}
		if major, minor, ok := goMinor(goVer); !ok {
			t.Errorf("functions/%s/go.mod: go line %q unreadable", f.Name, goVer)
		} else if wMajor, wMinor, _ := goMinor(newestRuntimeGo); major > wMajor || major == wMajor && minor > wMinor {
			t.Errorf("functions/%s/go.mod: go %s is newer than the newest Cloud Run functions runtime (go %s)", f.Name, goVer, newestRuntimeGo)
		}
		if _, err := os.Stat(filepath.Join(root, "functions", f.Name, "vendor")); err == nil {
			t.Errorf("functions/%s/vendor exists: vendoring happens in a copy (deploy.sh, buildcheck), never in the working tree", f.Name)
		}
	}
}

var goVersionRE = regexp.MustCompile(`^(\d+)\.(\d+)`)

func goMinor(v string) (major, minor int, ok bool) {
	mm := goVersionRE.FindStringSubmatch(v)
	if mm == nil {
		return 0, 0, false
	}
	for _, c := range mm[1] {
		major = major*10 + int(c-'0')
	}
	for _, c := range mm[2] {
		minor = minor*10 + int(c-'0')
	}
	return major, minor, true
}

// goWorkUses returns the cleaned paths of go.work's use directives.
func goWorkUses(t *testing.T, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	var uses []string
	inBlock := false
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case inBlock && f[0] == ")":
			inBlock = false
		case inBlock:
			uses = append(uses, filepath.ToSlash(filepath.Clean(strings.Trim(f[0], `"`))))
		case f[0] == "use" && len(f) >= 2 && f[1] == "(":
			inBlock = true
		case f[0] == "use" && len(f) >= 2:
			uses = append(uses, filepath.ToSlash(filepath.Clean(strings.Trim(f[1], `"`))))
		}
	}
	return uses
}

func TestGoWorkUsesEveryFunction(t *testing.T) {
	t.Parallel()
	root, m := repo(t)
	uses := goWorkUses(t, root)
	for _, f := range m.Functions {
		if !slices.Contains(uses, f.Dir()) {
			t.Errorf("go.work does not use ./%s (uses %v)", f.Dir(), uses)
		}
	}
	for _, u := range uses {
		if name, ok := strings.CutPrefix(u, "functions/"); ok {
			if _, known := m.Lookup(name); !known {
				t.Errorf("go.work uses ./%s, which is not in %s", u, manifest.File)
			}
		}
	}
}

func TestOpenAPIOperationsMatchRoutes(t *testing.T) {
	t.Parallel()
	root, m := repo(t)
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(root, "openapi.yaml"))
	if err != nil {
		t.Fatalf("load openapi.yaml (every route in %s must be described there): %v", manifest.File, err)
	}
	spec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			spec[strings.ToUpper(method)+" "+manifest.NormalizePath(path)] = true
		}
	}
	served := map[string]string{}
	for _, f := range m.Functions {
		for _, r := range f.ParsedRoutes() {
			key := r.Method + " " + manifest.NormalizePath(r.Path)
			served[key] = f.Name
			if !spec[key] {
				t.Errorf("%s: route %q is not an operation in openapi.yaml", f.Name, r)
			}
		}
	}
	var unserved []string
	for op := range spec {
		if op != "GET /health" && served[op] == "" {
			unserved = append(unserved, op)
		}
	}
	sort.Strings(unserved)
	for _, op := range unserved {
		t.Errorf("openapi.yaml operation %q is served by no function in %s", op, manifest.File)
	}
}

// deployCommand is one `gcloud functions deploy` line of deploy.sh --dry-run.
type deployCommand struct {
	function string
	flags    map[string]string // "--flag" -> value ("" for a bare flag)
}

const dryRunProject = "test-project"

func dryRun(t *testing.T, root string) (string, map[string]deployCommand) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash is needed to run deploy.sh: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "deploy.sh"), "--dry-run", dryRunProject, "europe-west1")
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("deploy.sh --dry-run: %v\nstderr:\n%s", err, stderr.String())
	}
	cmds := map[string]deployCommand{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		// deploy.sh prints commands with printf %q; none of our values
		// contain blanks, so dropping the backslashes undoes the quoting.
		words := strings.Fields(strings.ReplaceAll(line, `\`, ""))
		if len(words) < 4 || words[0] != "gcloud" || words[1] != "functions" || words[2] != "deploy" {
			continue
		}
		dc := deployCommand{function: words[3], flags: map[string]string{}}
		for _, w := range words[4:] {
			k, v, _ := strings.Cut(w, "=")
			dc.flags[k] = v
		}
		if _, dup := cmds[dc.function]; dup {
			t.Errorf("deploy.sh --dry-run deploys %s twice", dc.function)
		}
		cmds[dc.function] = dc
	}
	return stdout.String(), cmds
}

// tfFiles parses the root terraform module's .tf files (not modules/).
func tfFiles(t *testing.T, root string) map[string][]tfBlock {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, "terraform", "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("terraform/ has no .tf files")
	}
	files := map[string][]tfBlock{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := parseHCL(string(data))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		files[filepath.Base(p)] = blocks
	}
	return files
}

// tfLocal returns the value of a string local of the root module.
func tfLocal(t *testing.T, files map[string][]tfBlock, name string) string {
	t.Helper()
	for _, blocks := range files {
		for _, b := range blocks {
			if b.Type != "locals" {
				continue
			}
			if expr, ok := b.Attrs[name]; ok {
				v, ok := stringLiteral(expr)
				if !ok {
					t.Fatalf("terraform local %s = %s: want a plain string", name, expr)
				}
				return v
			}
		}
	}
	t.Fatalf("terraform/*.tf defines no local %q", name)
	return ""
}

func TestDeployScriptCoversManifest(t *testing.T) {
	t.Parallel()
	root, m := repo(t)
	script, err := os.ReadFile(filepath.Join(root, "deploy.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// The list must come from the manifest, not from a copy in the script.
	if !bytes.Contains(script, []byte("./infra/cmd/manifest")) || !bytes.Contains(script, []byte("manifest list")) {
		t.Error("deploy.sh does not read its function list from `infra/cmd/manifest list`")
	}
	for _, f := range m.Functions {
		if bytes.Contains(script, []byte("functions/"+f.Name+"\"")) || bytes.Contains(script, []byte("functions/"+f.Name+" ")) {
			t.Errorf("deploy.sh names functions/%s itself; it must take every name from the manifest", f.Name)
		}
	}

	files := tfFiles(t, root)
	prefix := tfLocal(t, files, "function_prefix")
	runtimeSA := tfLocal(t, files, "runtime_sa_prefix")
	invokerSA := tfLocal(t, files, "invoker_sa_prefix")

	out, cmds := dryRun(t, root)
	saEmail := func(prefix, name string) string {
		return prefix + name + "@" + dryRunProject + ".iam.gserviceaccount.com"
	}
	for _, f := range m.Functions {
		dc, ok := cmds[prefix+f.Name]
		if !ok {
			t.Errorf("deploy.sh --dry-run prints no `gcloud functions deploy %s%s`", prefix, f.Name)
			continue
		}
		want := map[string]string{
			"--gen2":            "",
			"--runtime":         "go126",
			"--entry-point":     f.EntryPoint,
			"--service-account": saEmail(runtimeSA, f.Name),
		}
		switch f.Kind {
		case manifest.KindHTTP:
			want["--trigger-http"] = ""
		case manifest.KindEvent:
			want["--trigger-topic"] = f.Trigger
			want["--trigger-service-account"] = saEmail(invokerSA, f.Name)
			want["--retry"] = ""
		case manifest.KindScheduled:
			want["--trigger-http"] = ""
			want["--no-allow-unauthenticated"] = ""
		}
		for k, v := range want {
			if got, ok := dc.flags[k]; !ok || got != v {
				t.Errorf("deploy %s: %s=%q, want %q", dc.function, k, got, v)
			}
		}
		src := dc.flags["--source"]
		if !strings.HasSuffix(src, "/functions/"+f.Name) || strings.HasPrefix(src, root) {
			t.Errorf("deploy %s: --source=%s, want a vendored copy outside the working tree", dc.function, src)
		}
		if f.Kind != manifest.KindHTTP && !strings.Contains(out, "add-invoker-policy-binding "+prefix+f.Name+" ") {
			t.Errorf("deploy.sh --dry-run grants no invoker on %s%s", prefix, f.Name)
		}
	}
	for name := range cmds {
		if _, ok := m.Lookup(strings.TrimPrefix(name, prefix)); !ok {
			t.Errorf("deploy.sh --dry-run deploys %s, which is not in %s", name, manifest.File)
		}
	}
	if !strings.Contains(out, "./infra/cmd/migrate") {
		t.Error("deploy.sh --dry-run does not run the migrations")
	}
	if i, j := strings.Index(out, "./infra/cmd/migrate"), strings.Index(out, "gcloud functions deploy"); i < 0 || j >= 0 && j < i {
		t.Error("deploy.sh --dry-run: migrations must run before the first deploy")
	}
}

// The secrets deploy.sh mounts must be the ones terraform creates and grants.
func TestDeploySecretsExistInTerraform(t *testing.T) {
	t.Parallel()
	root, _ := repo(t)
	var tf strings.Builder
	paths, _ := filepath.Glob(filepath.Join(root, "terraform", "*.tf"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tf.Write(data)
	}
	_, cmds := dryRun(t, root)
	for _, dc := range cmds {
		for _, s := range strings.Split(dc.flags["--set-secrets"], ",") {
			if s == "" {
				continue
			}
			_, ref, _ := strings.Cut(s, "=")
			secret, _, _ := strings.Cut(ref, ":")
			if !strings.Contains(tf.String(), `"`+secret+`"`) {
				t.Errorf("deploy %s mounts secret %q, which terraform/*.tf does not define", dc.function, secret)
			}
		}
	}
}

func TestTerraformModulePerFunction(t *testing.T) {
	t.Parallel()
	root, m := repo(t)
	files := tfFiles(t, root)
	type found struct {
		file  string
		block tfBlock
	}
	modules := map[string]found{}
	for file, blocks := range files {
		for _, b := range blocks {
			if b.Type != "module" || len(b.Labels) != 1 || !strings.HasPrefix(b.Labels[0], "fn_") {
				continue
			}
			if prev, dup := modules[b.Labels[0]]; dup {
				t.Errorf("module %q is defined in both %s and %s", b.Labels[0], prev.file, file)
			}
			modules[b.Labels[0]] = found{file, b}
		}
	}
	for _, f := range m.Functions {
		mod, ok := modules[f.TerraformModule()]
		if !ok {
			t.Errorf("terraform/: no module %q for function %q", f.TerraformModule(), f.Name)
			continue
		}
		if name, ok := stringLiteral(mod.block.Attrs["name"]); !ok || name != f.Name {
			t.Errorf("terraform/%s: module %q has name = %s, want %q", mod.file, f.TerraformModule(), mod.block.Attrs["name"], f.Name)
		}
		if src, _ := stringLiteral(mod.block.Attrs["source"]); src != "./modules/function" {
			t.Errorf("terraform/%s: module %q has source = %s, want \"./modules/function\"", mod.file, f.TerraformModule(), mod.block.Attrs["source"])
		}
	}
	for label, mod := range modules {
		known := false
		for _, f := range m.Functions {
			known = known || f.TerraformModule() == label
		}
		if !known {
			t.Errorf("terraform/%s: module %q matches no function in %s", mod.file, label, manifest.File)
		}
	}
}

var quotedRE = regexp.MustCompile(`"([^"]+)"`)

// The topics terraform creates are exactly the subjects the code emits and
// consumes, and every event function is triggered by a consumed one.
func TestTerraformTopicsMatchSubjects(t *testing.T) {
	t.Parallel()
	root, m := repo(t)
	files := tfFiles(t, root)
	list := func(name string) []string {
		for _, blocks := range files {
			for _, b := range blocks {
				if expr, ok := b.Attrs[name]; ok && b.Type == "locals" {
					var out []string
					for _, mm := range quotedRE.FindAllStringSubmatch(expr, -1) {
						out = append(out, mm[1])
					}
					sort.Strings(out)
					return out
				}
			}
		}
		t.Fatalf("terraform/*.tf defines no local %q", name)
		return nil
	}
	sorted := func(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	if diff := cmp.Diff(sorted(events.Emitted()), list("emitted_subjects")); diff != "" {
		t.Errorf("terraform local.emitted_subjects vs shared/events.Emitted() (-code +terraform):\n%s", diff)
	}
	consumed := list("consumed_subjects")
	if diff := cmp.Diff(sorted(events.Consumed()), consumed); diff != "" {
		t.Errorf("terraform local.consumed_subjects vs shared/events.Consumed() (-code +terraform):\n%s", diff)
	}
	for _, f := range m.Functions {
		if f.Kind == manifest.KindEvent && !slices.Contains(consumed, f.Trigger) {
			t.Errorf("%s: trigger %q is not a consumed subject (shared/events, terraform/pubsub.tf)", f.Name, f.Trigger)
		}
	}
}
