package tenant

// Calls against tenant-service are tested with the fake over HTTP in
// infra/fakes/tenant/client_test.go; these need no server.

import (
	"regexp"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/upstream/upstreamtest"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	upstreamtest.CheckConfig(t, "TENANT_SERVICE", 800*time.Millisecond, NewClient)
}

func TestRoles(t *testing.T) {
	t.Parallel()
	if len(Roles()) != 6 {
		t.Fatalf("Roles() = %v", Roles())
	}
	for _, r := range Roles() {
		if !ValidRole(r) {
			t.Errorf("ValidRole(%q) = false", r)
		}
	}
	for _, r := range []string{"", "Manager", "owner", "front-desk"} {
		if ValidRole(r) {
			t.Errorf("ValidRole(%q) = true", r)
		}
	}
	rs := Roles()
	rs[0] = "owner"
	if ValidRole("owner") {
		t.Fatal("Roles() exposes the internal list")
	}
}

func TestTraceparent(t *testing.T) {
	t.Parallel()
	const tid = "4BF92F3577B34DA6A3CE929D0E0E4736"
	shape := regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)
	cases := []struct {
		in   logging.Trace
		want string // "" = not sent; "*" = any well-formed
		ok   bool
	}{
		{logging.Trace{TraceID: tid, SpanID: "00f067aa0ba902b7", Sampled: true}, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{logging.Trace{TraceID: tid, SpanID: "1"}, "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000001-00", true},
		{logging.Trace{TraceID: tid, SpanID: "0000000000000000"}, "*", true},
		{logging.Trace{TraceID: tid}, "*", true},
		{logging.Trace{TraceID: "00000000000000000000000000000000", SpanID: "1"}, "", false},
		{logging.Trace{TraceID: "xyz", SpanID: "1"}, "", false},
	}
	for _, tc := range cases {
		got, ok := traceparent(tc.in)
		if ok != tc.ok || (tc.want == "*" && !shape.MatchString(got)) || (tc.want != "*" && got != tc.want) {
			t.Errorf("traceparent(%+v) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
