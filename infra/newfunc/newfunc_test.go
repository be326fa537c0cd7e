package newfunc_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

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

// A function of each kind, generated into a copy of the repository, is
// registered in and started by the dev server exactly as deployed and
// passes every manifest check. (That each builds alone, as the buildpack
// builds it, is `make buildcheck`'s: go run ./infra/cmd/buildcheck
// -generated, where the vendored packages are already compiled.)
func TestGeneratedFunctionsRegisterAndPassChecks(t *testing.T) {
	t.Parallel()
	testenv.PubsubHost(t) // the start-up test below runs on the stack
	src, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	names, err := newfunc.Probe(src, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		for _, f := range []string{"function.go", "go.mod", "go.sum"} {
			if st, err := os.Stat(filepath.Join(root, "functions", n, f)); err != nil || st.Size() == 0 {
				t.Errorf("functions/%s/%s: %v", n, f, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// The flags make test's own run uses, so that every package the
	// generator did not touch comes from the build cache.
	cmd := exec.CommandContext(ctx, "go", "test", "-race", "-trimpath", "-count=1", "-run",
		"^(TestRepositoryManifestIsValid|TestFunctionModulesMatchManifest|TestGoWorkUsesEveryFunction|"+
			"TestOpenAPIOperationsMatchRoutes|TestDeployScriptCoversManifest|TestTerraformModulePerFunction|"+
			"TestTerraformTopicsMatchSubjects|TestEveryFunctionStartsAsDeployed)$",
		"./infra/manifest/", "./infra/devserver/")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the manifest checks and the start-up test in the generated repository: %v\n%s", err, out)
	}
}

// copyRepo copies the repository into a temporary directory.
func copyRepo(t *testing.T) string {
	t.Helper()
	src, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := newfunc.CopyRepo(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
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
