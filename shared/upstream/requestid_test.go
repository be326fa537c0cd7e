package upstream_test

import (
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/upstream"
)

// The keys already sent upstream must not change: a retry after a deploy
// has to reach the upstream under the key the first attempt used.
func TestRequestIDIsStable(t *testing.T) {
	for _, tc := range []struct{ ns, want string }{
		{"", "bff-7bd6eb524c3f48abbe22a453d3bf2b01"},
		{"folio", "bff-d14475afac6250a80f1f99793483b0ed"},
	} {
		if got := upstream.RequestID(tc.ns, "ten", "dev", "k"); got != tc.want {
			t.Errorf("RequestID(%q) = %s, want %s", tc.ns, got, tc.want)
		}
	}
	if upstream.RequestID("folio", "ten", "dev", "k") == upstream.RequestID("reservation", "ten", "dev", "k") {
		t.Error("two upstreams' keys meet")
	}
}
