package access

import (
	"slices"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// The matrix as a table of the roles that hold each right, written out
// independently of the map so a changed cell fails here.
func TestMatrix(t *testing.T) {
	t.Parallel()
	want := map[Right]string{
		GuestData:       "fd na -- -- mg ad",
		RevenueData:     "-- na -- -- mg ad",
		FrontOffice:     "fd na -- -- mg ad",
		HousekeepingOps: "-- -- hk -- mg ad",
		LockAlerts:      "fd na -- mt mg ad",
		OthersActivity:  "-- na -- -- mg ad",
		DeskActions:     "fd na -- -- mg ad",
		Override:        "-- na -- -- mg ad",
		Unlisted:        "-- -- -- -- mg ad",
	}
	short := []string{"fd", "na", "hk", "mt", "mg", "ad"}
	for _, r := range Rights() {
		var got []string
		for i, role := range tenant.Roles() {
			if Has([]string{role}, r) {
				got = append(got, short[i])
			} else {
				got = append(got, "--")
			}
		}
		if g := joined(got); g != want[r] {
			t.Errorf("%s: %s, want %s", r, g, want[r])
		}
	}
}

func joined(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestUnionAndUnknown(t *testing.T) {
	t.Parallel()
	if !Has([]string{tenant.RoleHousekeepingLead, tenant.RoleFrontDesk}, GuestData, HousekeepingOps) {
		t.Error("a housekeeping lead who is also front desk lacks the union of both rights")
	}
	if Has([]string{tenant.RoleHousekeepingLead}, Right("whatever")) {
		t.Error("an unknown right is held")
	}
	if Has(nil, GuestData) {
		t.Error("no roles hold guest data")
	}
	if !Has(nil) {
		t.Error("asking for no rights is refused")
	}
}

func TestCategories(t *testing.T) {
	t.Parallel()
	hk := []string{tenant.RoleHousekeepingLead}
	fd := []string{tenant.RoleFrontDesk}
	mg := []string{tenant.RoleManager}
	cases := []struct {
		rights []Right
		roles  []string
		want   bool
	}{
		{Suggestion("rate_change"), hk, false},
		{Suggestion("rate_change"), fd, false},
		{Suggestion("rate_change"), []string{tenant.RoleNightAuditor}, true},
		{Suggestion("overbooking_warning"), hk, false},
		{Suggestion("overbooking_warning"), fd, true},
		{Suggestion("housekeeping_reorder"), hk, true},
		{Suggestion("housekeeping_reorder"), fd, false},
		{Suggestion("staffing"), fd, false},
		{Suggestion("brand_new_category"), []string{tenant.RoleNightAuditor}, false},
		{Suggestion("brand_new_category"), mg, true},
		{Suggestion("guest_special_handling"), mg, true},
		{Alert("lock_failed"), []string{tenant.RoleMaintenanceLead}, true},
		{Alert("oversold"), []string{tenant.RoleMaintenanceLead}, false},
		{Alert("security"), fd, false},
		{Alert("security"), []string{tenant.RoleAdmin}, true},
	}
	for _, c := range cases {
		if got := Has(c.roles, c.rights...); got != c.want {
			t.Errorf("Has(%v, %v) = %v, want %v", c.roles, c.rights, got, c.want)
		}
	}
}

func TestRequire(t *testing.T) {
	t.Parallel()
	err := Require([]string{tenant.RoleHousekeepingLead}, RevenueData)
	if !apperr.Is(err, apperr.ForbiddenRole) {
		t.Fatalf("Require = %v, want FORBIDDEN_ROLE", err)
	}
	if err := Require([]string{tenant.RoleManager}, RevenueData, GuestData); err != nil {
		t.Fatalf("Require(manager) = %v", err)
	}
}

func TestPrimary(t *testing.T) {
	t.Parallel()
	if got := Primary([]string{tenant.RoleHousekeepingLead, tenant.RoleManager}); got != tenant.RoleManager {
		t.Errorf("Primary = %q", got)
	}
	if got := Primary([]string{"owner"}); got != "" {
		t.Errorf("Primary(unknown) = %q", got)
	}
	for _, r := range tenant.Roles() {
		if !slices.Contains(precedence, r) {
			t.Errorf("role %s has no precedence", r)
		}
	}
}
