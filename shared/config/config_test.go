package config_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/config"
)

type sample struct {
	Addr    string        `env:"SAMPLE_ADDR, required"`
	Timeout time.Duration `env:"SAMPLE_TIMEOUT, default=250ms"`
	Workers int           `env:"SAMPLE_WORKERS, default=4"`
}

var (
	errWorkers = errors.New("SAMPLE_WORKERS must be at most 64")
	errTimeout = errors.New("SAMPLE_TIMEOUT must be positive")
)

// Validate reports every broken rule at once, joined, so a bad deployment
// is fixed in one round.
func (s *sample) Validate() error {
	var errs []error
	if s.Workers > 64 {
		errs = append(errs, errWorkers)
	}
	if s.Timeout <= 0 {
		errs = append(errs, errTimeout)
	}
	return errors.Join(errs...)
}

func load(vars map[string]string) (sample, error) {
	var s sample
	err := config.LoadFrom(context.Background(), config.MapLookuper(vars), &s)
	return s, err
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	s, err := load(map[string]string{"SAMPLE_ADDR": "10.0.0.3:6379"})
	if err != nil {
		t.Fatal(err)
	}
	if s != (sample{Addr: "10.0.0.3:6379", Timeout: 250 * time.Millisecond, Workers: 4}) {
		t.Fatalf("loaded %+v", s)
	}
}

func TestRequiredMissingFails(t *testing.T) {
	t.Parallel()
	_, err := load(map[string]string{"SAMPLE_WORKERS": "2"})
	if err == nil || !strings.Contains(err.Error(), "SAMPLE_ADDR") {
		t.Fatalf("err = %v, want one naming SAMPLE_ADDR", err)
	}
}

func TestValidateErrorsAreJoined(t *testing.T) {
	t.Parallel()
	_, err := load(map[string]string{"SAMPLE_ADDR": "x", "SAMPLE_WORKERS": "100", "SAMPLE_TIMEOUT": "0s"})
	if !errors.Is(err, errWorkers) || !errors.Is(err, errTimeout) {
		t.Fatalf("err = %v, want both broken rules", err)
	}
	if !strings.HasPrefix(err.Error(), "config.LoadFrom: ") {
		t.Errorf("err = %q, want the config.LoadFrom context", err)
	}
	if _, err := load(map[string]string{"SAMPLE_ADDR": "x", "SAMPLE_WORKERS": "8"}); err != nil {
		t.Errorf("a valid config failed: %v", err)
	}
}

// A malformed value fails the load. go-envconfig names the struct field,
// not the variable, in this error; the value is quoted so it can be found.
func TestMalformedValueFails(t *testing.T) {
	t.Parallel()
	_, err := load(map[string]string{"SAMPLE_ADDR": "x", "SAMPLE_TIMEOUT": "soon"})
	if err == nil || !strings.Contains(err.Error(), "Timeout") || !strings.Contains(err.Error(), `"soon"`) {
		t.Fatalf("err = %v, want one naming the field and the value", err)
	}
}
