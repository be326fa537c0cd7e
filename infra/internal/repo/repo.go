// Package repo finds files of the checkout (testdata, keys) from wherever a
// test or tool runs inside it.
package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvRoot overrides the search, for tools run from outside the checkout.
const EnvRoot = "MELMASTOON_REPO_ROOT"

// Root returns the repository root: $MELMASTOON_REPO_ROOT, else the nearest
// directory at or above the working directory that holds go.work.
func Root() (string, error) {
	if r := os.Getenv(EnvRoot); r != "" {
		return filepath.Abs(r)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo.Root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repo.Root: no go.work above the working directory; set " + EnvRoot)
		}
		dir = parent
	}
}

// Path joins rel (slash-separated) to the repository root.
func Path(rel string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}
