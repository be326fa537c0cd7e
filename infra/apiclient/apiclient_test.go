package apiclient

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
)

// TestGeneratedClientIsCurrent regenerates the client with the pinned
// generator `make` installs into ./bin and compares it with the committed
// file.
func TestGeneratedClientIsCurrent(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(root, "bin", "oapi-codegen")
	if _, err := os.Stat(gen); err != nil {
		t.Skipf("%s is not installed (make apiclient-check installs it and runs the same check)", gen)
	}
	out := filepath.Join(t.TempDir(), "client.gen.go")
	cmd := exec.Command(gen, "-config", "infra/apiclient/oapi-codegen.yaml", "-o", out, "openapi.yaml")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "infra", "apiclient", "client.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("infra/apiclient/client.gen.go is stale: run make apiclient")
	}
}
