package views

import (
	"slices"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

func TestRevenueOnlyForRolesThatHandleMoney(t *testing.T) {
	t.Parallel()
	for _, r := range tenant.Roles() {
		ws := DashboardWidgets([]string{r})
		money := slices.Contains(ws, WRevenue) || slices.Contains(ws, WOccupancy)
		want := r == tenant.RoleNightAuditor || r == tenant.RoleManager || r == tenant.RoleAdmin
		if money != want {
			t.Errorf("%s sees revenue/occupancy = %v, want %v", r, money, want)
		}
		if len(ws) == 0 || ws[0] != WToday {
			t.Errorf("%s widgets %v: every role starts with today", r, ws)
		}
	}
	if ws := DashboardWidgets([]string{tenant.RoleHousekeepingLead, "unknown"}); slices.Contains(ws, WRevenue) {
		t.Fatal("an unknown role widened the housekeeping lead's widgets")
	}
	union := DashboardWidgets([]string{tenant.RoleHousekeepingLead, tenant.RoleNightAuditor})
	if !slices.Contains(union, WRevenue) || !slices.Contains(union, WHousekeepingSummary) {
		t.Fatalf("two roles get the union, got %v", union)
	}
}

func TestEveryViewHasRolesAndRoleKeyIsCanonical(t *testing.T) {
	t.Parallel()
	for _, v := range []string{VToday, VArrivals, VDepartures, VInHouse, VHousekeepingBoard, VMaintenanceBoard} {
		if len(ViewRoles(v)) == 0 {
			t.Errorf("view %s has no roles", v)
		}
	}
	if a, b := RoleKey([]string{"manager", "admin"}), RoleKey([]string{"admin", "manager", "admin"}); a != b || a != "admin+manager" {
		t.Fatalf("RoleKey = %q, %q", a, b)
	}
}
