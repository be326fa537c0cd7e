package newfunc_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/buildcheck"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/infra/newfunc"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, pkg, entry string }{
		{"devices", "devices", "Devices"},
		{"device-heartbeat", "deviceheartbeat", "DeviceHeartbeat"},
		{"export-activity", "exportactivity", "ExportActivity"},
	} {
		if got := newfunc.Package(c.name); got != c.pkg {
			t.Errorf("Package(%q) = %q, want %q", c.name, got, c.pkg)
		}
		if got := newfunc.EntryPoint(c.name); got != c.entry {
			t.Errorf("EntryPoint(%q) = %q, want %q", c.name, got, c.entry)
		}
	}
}

// Refusals happen before anything is written.
func TestGenerateRefuses(t *testing.T) {
	t.Parallel()
	root := copyRepo(t)
	before := snapshot(t, root)
	for _, s := range []newfunc.Spec{
		{Name: "session", Kind: manifest.KindHTTP, Routes: []string{"GET /v1/session"}}, // exists
		{Name: "Bad_Name", Kind: manifest.KindEvent, Trigger: events.ReservationChanged},
		{Name: "no-route", Kind: manifest.KindHTTP},
		{Name: "no-trigger", Kind: manifest.KindEvent},
		{Name: "odd-kind", Kind: "cron"},
		{Name: "bad-route", Kind: manifest.KindHTTP, Routes: []string{"FETCH v1/x"}},
	} {
		if _, err := newfunc.Generate(root, s); err == nil {
			t.Errorf("Generate(%+v) = nil error, want a refusal", s)
		}
	}
	if after := snapshot(t, root); !slices.Equal(before, after) {
		t.Error("a refused Generate changed the repository")
	}
}

// A function of each kind, generated into a copy of the repository,
// builds alone as the buildpack builds it, is registered in and started
// by the dev server exactly as deployed, and passes every manifest check.
func TestGeneratedFunctionsBuildRegisterAndPassChecks(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t) // the start-up test below runs on the stack
	root := copyRepo(t)
	specs := []newfunc.Spec{
		{Name: "zz-probe-view", Kind: manifest.KindHTTP, Routes: []string{"GET /v1/zz-probe"}},
		{Name: "zz-probe-changed", Kind: manifest.KindEvent, Trigger: events.ReservationChanged},
		{Name: "zz-probe-job", Kind: manifest.KindScheduled, Schedule: "*/10 * * * *"},
	}
	var names []string
	for _, s := range specs {
		left, err := newfunc.Generate(root, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 || !strings.Contains(left[0], "function.go") {
			t.Errorf("%s: left to do = %q, want the handler first", s.Name, left)
		}
		names = append(names, s.Name)
	}
	// What the generator leaves to a person for an HTTP function: its
	// OpenAPI operation.
	addOperation(t, root, "/v1/zz-probe", "zzProbe")

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	checks := "^(TestRepositoryManifestIsValid|TestFunctionModulesMatchManifest|TestGoWorkUsesEveryFunction|" +
		"TestOpenAPIOperationsMatchRoutes|TestDeployScriptCoversManifest|TestTerraformModulePerFunction|TestTerraformTopicsMatchSubjects)$"
	goTest(ctx, t, root, "-run", checks, "./infra/manifest/")
	goTest(ctx, t, root, "-run", "^TestEveryFunctionStartsAsDeployed$", "./infra/devserver/")

	c := buildcheck.Checker{Parallel: 2}
	results, err := c.Run(ctx, root, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil || r.BinaryBytes == 0 {
			t.Errorf("%s does not build alone: %v", r.Name, r.Err)
		}
	}
}

func goTest(ctx context.Context, t *testing.T, root string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1"}, args...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("go test %s in the generated repository: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func addOperation(t *testing.T, root, path, opID string) {
	t.Helper()
	file := filepath.Join(root, "openapi.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	op := "paths:\n  " + path + ":\n    get:\n      operationId: " + opID + "\n      summary: probe\n" +
		"      responses:\n        '200':\n          description: ok\n"
	out := strings.Replace(string(data), "paths:\n", op, 1)
	if out == string(data) {
		t.Fatal("openapi.yaml has no paths: line")
	}
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyRepo copies the files git knows of (tracked, or untracked and not
// ignored) into a temporary directory.
func copyRepo(t *testing.T) string {
	t.Helper()
	src, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if rel == "" {
			continue
		}
		if err := copyFile(filepath.Join(src, rel), filepath.Join(dst, rel)); err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the working tree
			}
			t.Fatal(err)
		}
	}
	return dst
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	w, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

// snapshot lists every file with its size and modification time.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %s %d", p, info.ModTime(), info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
