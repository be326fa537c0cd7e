package rediskeys_test

import (
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
)

// TestPatterns pins every key byte for byte: running instances, stored
// data and other services' runbooks use these exact strings, so a change
// here is a migration, never a refactoring.
func TestPatterns(t *testing.T) {
	t.Parallel()
	k := rediskeys.New("bffbo:")
	cases := []struct{ got, want string }{
		{k.Session("bos_1"), "bffbo:sess:bos_1"},
		{k.Session(""), "bffbo:sess:"},
		{k.SessionIndex("ten_1", "op_1", "dev_1"), "bffbo:sessidx:ten_1:op_1:dev_1"},
		{k.OperatorSessions("ten_1", "op_1"), "bffbo:sessop:ten_1:op_1"},
		{k.SessionExpiry(), "bffbo:sessexp"},
		{k.SessionExpiryClaimed(), "bffbo:sessexp-claimed"},
		{k.Cutoff("ten_1", "op_1", ""), "bffbo:cutoff:ten_1:op_1"},
		{k.Cutoff("ten_1", "op_1", "dev_1"), "bffbo:cutoff:ten_1:op_1:dev_1"},
		{k.CacheVersion("ten_1"), "bffbo:ver:ten_1"},
		{k.PropertyGeneration("ten_1", "prp_1"), "bffbo:pgen:ten_1:prp_1"},
		{k.SnapshotBase("dashboard", "ten_1", "prp_1", "front_desk+manager"), "bffbo:snap:dashboard:ten_1:prp_1:front_desk+manager"},
		{rediskeys.Snapshot(k.SnapshotBase("arrivals", "ten_1", "prp_1", "manager"), "3", "0"), "bffbo:snap:arrivals:ten_1:prp_1:manager:v3:g0"},
		{k.Lease("bffbo:snap:dashboard:ten_1:prp_1:manager:v0:g0"), "bffbo:lease:bffbo:snap:dashboard:ten_1:prp_1:manager:v0:g0"},
		{k.LastGood("ten_1", "prp_1", "dashboard", "arrivals"), "bffbo:lastgood:ten_1:prp_1:dashboard:arrivals"},
		{k.DeviceStream("ten_1", "dev_1"), "bffbo:devstream:ten_1:dev_1"},
		{k.DeviceStreamChannel("ten_1"), "bffbo:devstream-notify:ten_1"},
		{k.DeviceStreamChannel(""), "bffbo:devstream-notify:"},
		{k.DevicesOfProperty("ten_1", "prp_1"), "bffbo:devstream-prop:ten_1:prp_1"},
		{k.DevicesOfTenant("ten_1"), "bffbo:devstream-tenant:ten_1"},
		{k.EventMarker("session-revoked", "evt-9"), "bffbo:evt:session-revoked:evt-9"},
		{k.DeviceStatus("ten_1", "dev_2"), "bffbo:devsync:ten_1:dev_2"},
		{k.Preferences("ten_1", "op_2"), "bffbo:prefs:ten_1:op_2"},
		{k.Shortcuts("ten_1", "op_2", ""), "bffbo:shortcuts:ten_1:op_2"},
		{k.Shortcuts("ten_1", "op_2", "prp_3"), "bffbo:shortcuts:ten_1:op_2:prp_3"},
		{k.InboxItems("aiinbox", "ten_1", "prp_1"), "bffbo:aiinbox:ten_1:prp_1"},
		{k.InboxEnds("alertinbox", "ten_1", "prp_1"), "bffbo:alertinbox-end:ten_1:prp_1"},
		{k.InboxLoaded("aiinbox", "ten_1", "prp_1"), "bffbo:aiinbox-loaded:ten_1:prp_1"},
		{k.InboxEntry("alertinbox", "ten_1", "ali_1"), "bffbo:alertinbox-id:ten_1:ali_1"},
		{k.InboxOrder("aiinbox", "ten_1", "prp_1", "rate_change"), "bffbo:aiinbox-order:ten_1:prp_1:rate_change"},
		{k.InboxGone("alertinbox", "ten_1", "prp_1"), "bffbo:alertinbox-gone:ten_1:prp_1"},
		{k.Join("k", "a", "1"), "bffbo:k:a:1"},
		{k.Join(), "bffbo:"},
		{rediskeys.New("").Session("bos_1"), "sess:bos_1"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("key %q, want %q", c.got, c.want)
		}
	}
	if k.Prefix() != "bffbo:" {
		t.Errorf("Prefix() = %q", k.Prefix())
	}
}

// TestLifetimes pins the lifetimes the package documentation promises.
func TestLifetimes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		got, want time.Duration
	}{
		{"SessionTTL", rediskeys.SessionTTL, 12 * time.Hour},
		{"SessionSweepGrace", rediskeys.SessionSweepGrace, 2 * time.Hour},
		{"SessionKeep", rediskeys.SessionKeep, 14 * time.Hour},
		{"SessionSweepLease", rediskeys.SessionSweepLease, 5 * time.Minute},
		{"CutoffTTL", rediskeys.CutoffTTL, 25 * time.Hour},
		{"SnapshotPartialTTL", rediskeys.SnapshotPartialTTL, 5 * time.Second},
		{"LeaseTTL", rediskeys.LeaseTTL, 2 * time.Second},
		{"LastGoodTTL", rediskeys.LastGoodTTL, 10 * time.Minute},
		{"DeviceStreamTTL", rediskeys.DeviceStreamTTL, 8 * 24 * time.Hour},
		{"DeviceRegistryWindow", rediskeys.DeviceRegistryWindow, 24 * time.Hour},
		{"EventMarkerTTL", rediskeys.EventMarkerTTL, 8 * 24 * time.Hour},
		{"DeviceStatusTTL", rediskeys.DeviceStatusTTL, 24 * time.Hour},
		{"PreferencesTTL", rediskeys.PreferencesTTL, 30 * 24 * time.Hour},
		{"InboxTTL", rediskeys.InboxTTL, 30 * 24 * time.Hour},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// The operator's session set, renewed to CutoffTTL whenever one of its
	// sessions slides, must outlive every session key in it.
	if rediskeys.CutoffTTL <= rediskeys.SessionKeep {
		t.Errorf("CutoffTTL %v does not outlive SessionKeep %v", rediskeys.CutoffTTL, rediskeys.SessionKeep)
	}
	// A revocation marker must outlive every token it can match.
	if rediskeys.CutoffTTL <= rediskeys.SessionTTL {
		t.Errorf("CutoffTTL %v does not outlive SessionTTL %v", rediskeys.CutoffTTL, rediskeys.SessionTTL)
	}
}

func TestRoleSet(t *testing.T) {
	t.Parallel()
	cases := []struct {
		roles []string
		want  string
	}{
		{nil, ""},
		{[]string{"manager"}, "manager"},
		{[]string{"manager", "front_desk"}, "front_desk+manager"},
		{[]string{"front_desk", "manager", "front_desk"}, "front_desk+manager"},
	}
	for _, c := range cases {
		in := append([]string(nil), c.roles...)
		if got := rediskeys.RoleSet(c.roles); got != c.want {
			t.Errorf("RoleSet(%v) = %q, want %q", c.roles, got, c.want)
		}
		if len(in) != len(c.roles) || (len(in) > 0 && in[0] != c.roles[0]) {
			t.Errorf("RoleSet changed its argument: %v", c.roles)
		}
	}
}
