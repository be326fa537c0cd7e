package newfunc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
	"github.com/melmastoon/bff-backoffice/shared/events"
)

// ProbeSpecs are one function of each kind, as a contributor would add
// them; Probe generates them to prove the generator's output.
func ProbeSpecs() []Spec {
	return []Spec{
		{Name: "zz-probe-action", Kind: manifest.KindHTTP, Routes: []string{"POST /v1/zz-probe"}},
		{Name: "zz-probe-changed", Kind: manifest.KindEvent, Trigger: events.ReservationChanged},
		{Name: "zz-probe-job", Kind: manifest.KindScheduled, Schedule: "*/10 * * * *"},
	}
}

// Probe copies the repository at src (the files git knows of) into dst and
// generates ProbeSpecs there, together with what the generator leaves to a
// person that the repository's checks require (the HTTP function's
// OpenAPI operation). It returns the generated functions' names.
func Probe(src, dst string) ([]string, error) {
	if err := CopyRepo(src, dst); err != nil {
		return nil, fmt.Errorf("newfunc.Probe: %w", err)
	}
	var names []string
	for _, s := range ProbeSpecs() {
		if _, err := Generate(dst, s); err != nil {
			return nil, fmt.Errorf("newfunc.Probe: %w", err)
		}
		names = append(names, s.Name)
	}
	if err := addOperation(dst, "/v1/zz-probe", "post", "zzProbe"); err != nil {
		return nil, fmt.Errorf("newfunc.Probe: %w", err)
	}
	return names, nil
}

// addOperation adds a minimal operation to dst's openapi.yaml.
func addOperation(root, path, method, opID string) error {
	file := filepath.Join(root, "openapi.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	op := "paths:\n  " + path + ":\n    " + method + ":\n      operationId: " + opID + "\n      summary: probe\n" +
		"      responses:\n        '201':\n          description: created\n"
	out := strings.Replace(string(data), "\npaths:\n", "\n"+op, 1)
	if out == string(data) {
		return fmt.Errorf("%s has no paths: line", file)
	}
	return os.WriteFile(file, []byte(out), 0o644)
}

// CopyRepo copies the files git knows of below src (tracked, or untracked
// and not ignored; deleted ones skipped) into dst.
func CopyRepo(src, dst string) error {
	out, err := exec.Command("git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if rel == "" {
			continue
		}
		if err := copyFile(filepath.Join(src, rel), filepath.Join(dst, rel)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
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
	if st.IsDir() {
		return nil // a submodule or an emptied directory
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
