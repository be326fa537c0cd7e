package setup

import (
	"context"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/upstream/iam"
)

// A Builder's opener gets its client when the configuration is there, and
// otherwise nil, with the builder failed on an error that names the
// client and the missing variable; the first failure is the one kept.
func TestDialFor(t *testing.T) {
	t.Parallel()
	b := &Builder{Ctx: context.Background(), L: config.MapLookuper(map[string]string{"IAM_SERVICE_URL": "http://127.0.0.1:1"})}
	if c := dialFor(b, "iam", iam.NewClient); c == nil || b.err != nil {
		t.Fatalf("configured: %v, builder error %v; want a client", c, b.err)
	}
	b.L = config.MapLookuper(map[string]string{})
	if c := dialFor(b, "iam", iam.NewClient); c != nil || b.err == nil ||
		!strings.HasPrefix(b.err.Error(), "iam client: ") || !strings.Contains(b.err.Error(), "IAM_SERVICE_URL") {
		t.Fatalf("unconfigured: %v, builder error %v; want nil and an iam client error naming IAM_SERVICE_URL", c, b.err)
	}
	first := b.err
	if dialFor(b, "other", iam.NewClient); b.err != first {
		t.Errorf("a second failure replaced the first: %v", b.err)
	}
}

// The lists' cursor codec comes from PII_HASH_KEY; without it the build
// fails on the missing variable.
func TestBuilderListCursors(t *testing.T) {
	t.Parallel()
	b := &Builder{Ctx: context.Background(), L: config.MapLookuper(map[string]string{"PII_HASH_KEY": strings.Repeat("k", 32)})}
	if c := b.ListCursors(); c == nil || b.err != nil {
		t.Fatalf("configured: %v, builder error %v; want a codec", c, b.err)
	}
	b.L = config.MapLookuper(map[string]string{})
	if b.ListCursors(); b.err == nil || !strings.Contains(b.err.Error(), "PII_HASH_KEY") {
		t.Fatalf("unconfigured: builder error %v; want one naming PII_HASH_KEY", b.err)
	}
}
