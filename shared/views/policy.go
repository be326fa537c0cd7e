// Package views defines what the dashboard and the six workbench views are
// made of and who may see which part: the widget set of each role, the
// roles allowed on each view, and the upstream call behind each widget.
// The composition itself (budgets, staleness, cache, single-flight) is
// shared/compose's.
package views

import (
	"slices"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// Dashboard widget names, as the desktop client lays them out.
const (
	WToday               = "today"
	WArrivals            = "arrivals"
	WDepartures          = "departures"
	WInHouse             = "inHouse"
	WOccupancy           = "occupancy"
	WRevenue             = "revenue"
	WAIInbox             = "aiInbox"
	WAlerts              = "alerts"
	WHousekeepingSummary = "housekeepingSummary"
	WMaintenanceSummary  = "maintenanceSummary"
	WSyncStatus          = "syncStatus"
)

// widgetsByRole is the permissioned widget set. Occupancy carries ADR and
// RevPAR, so it is revenue data too: only roles that handle money see it.
var widgetsByRole = map[string][]string{
	tenant.RoleFrontDesk:        {WToday, WArrivals, WDepartures, WInHouse, WAIInbox, WAlerts, WHousekeepingSummary, WSyncStatus},
	tenant.RoleNightAuditor:     {WToday, WArrivals, WDepartures, WInHouse, WOccupancy, WRevenue, WAIInbox, WAlerts, WSyncStatus},
	tenant.RoleHousekeepingLead: {WToday, WHousekeepingSummary, WMaintenanceSummary, WAIInbox, WAlerts, WSyncStatus},
	tenant.RoleMaintenanceLead:  {WToday, WMaintenanceSummary, WHousekeepingSummary, WAIInbox, WAlerts, WSyncStatus},
	tenant.RoleManager:          allWidgets,
	tenant.RoleAdmin:            allWidgets,
}

var allWidgets = []string{WToday, WArrivals, WDepartures, WInHouse, WOccupancy, WRevenue, WAIInbox, WAlerts, WHousekeepingSummary, WMaintenanceSummary, WSyncStatus}

// widgetRights is what a widget's body carries that the role matrix
// guards: the arrival and departure previews name guests and show their
// balances, occupancy and revenue are revenue data. A widget is shown only
// to roles holding these rights, whatever widgetsByRole says, so a layout
// change cannot leak them.
var widgetRights = map[string][]access.Right{
	WArrivals:   {access.GuestData},
	WDepartures: {access.GuestData},
	WOccupancy:  {access.RevenueData},
	WRevenue:    {access.RevenueData},
}

// UpstreamWidgets is DashboardWidgets without those the BFF composes from
// its own stores (syncStatus): the widgets a composition fans out to
// upstream services for, one call each.
func UpstreamWidgets(roles []string) []string {
	return slices.DeleteFunc(DashboardWidgets(roles), func(w string) bool { return w == WSyncStatus })
}

// DashboardWidgets is the union of the widget sets of roles, in a stable
// order, less any widget whose data the roles may not see.
func DashboardWidgets(roles []string) []string {
	var out []string
	for _, w := range allWidgets {
		if !access.Has(roles, widgetRights[w]...) {
			continue
		}
		for _, r := range roles {
			if slices.Contains(widgetsByRole[r], w) {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

// Workbench view kinds, as in their paths.
const (
	VToday             = "today"
	VArrivals          = "arrivals"
	VDepartures        = "departures"
	VInHouse           = "in-house"
	VHousekeepingBoard = "housekeeping-board"
	VMaintenanceBoard  = "maintenance-board"
)

// viewRoles lists who may open each view. Guest lists are for the roles
// with guest data; today is for everyone, guest-free for the others
// (GuestFree); boards are for the teams that work them.
var viewRoles = map[string][]string{
	VToday:             tenant.Roles(),
	VArrivals:          access.Roles(access.GuestData),
	VDepartures:        access.Roles(access.GuestData),
	VInHouse:           access.Roles(access.GuestData),
	VHousekeepingBoard: {tenant.RoleHousekeepingLead, tenant.RoleFrontDesk, tenant.RoleMaintenanceLead, tenant.RoleManager, tenant.RoleAdmin},
	VMaintenanceBoard:  {tenant.RoleMaintenanceLead, tenant.RoleHousekeepingLead, tenant.RoleManager, tenant.RoleAdmin},
}

// ViewRoles returns the roles allowed to open view kind.
func ViewRoles(kind string) []string { return viewRoles[kind] }

// GuestFree reports whether answers for roles must carry no guest data.
func GuestFree(roles []string) bool { return !access.Has(roles, access.GuestData) }

// RoleKey names a set of roles in cache keys and snapshots: sorted and
// joined, so an operator with two roles shares the cache with others who
// hold exactly the same two, and never with holders of just one.
func RoleKey(roles []string) string {
	return rediskeys.RoleSet(roles)
}
