// Package access is the role matrix: which roles may see which data and
// take which actions. It is the only place that knows it; views, inboxes,
// live events and actions ask it rather than list roles themselves, so a
// change to who may see what is one edit here and one row in the
// privilege sweep (infra/e2e).
//
// An operator holds the union of its roles' rights. Anything the matrix
// does not name — a suggestion or alert category added upstream tomorrow —
// is for managers and admins only (default deny).
package access

import (
	"slices"
	"strings"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// Right is one row of the matrix.
type Right string

// The rights.
const (
	// GuestData: guest names, contact, balances, folio ids, notes.
	GuestData Right = "guest_data"
	// RevenueData: rates, ADR, RevPAR, occupancy; rate_change suggestions.
	RevenueData Right = "revenue_data"
	// FrontOffice: overbooking warnings; oversold, no-show and
	// payment-failed alerts.
	FrontOffice Right = "front_office"
	// HousekeepingOps: housekeeping reorder suggestions.
	HousekeepingOps Right = "housekeeping_ops"
	// LockAlerts: lock_failed alerts.
	LockAlerts Right = "lock_alerts"
	// OthersActivity: other operators' activity rows.
	OthersActivity Right = "others_activity"
	// DeskActions: check-in, check-out, door-lock keys, folio adjustments.
	DeskActions Right = "desk_actions"
	// Override: force-checkout, refunds.
	Override Right = "override"
	// Unlisted: anything the matrix does not name.
	Unlisted Right = "unlisted"
)

const (
	fd = tenant.RoleFrontDesk
	na = tenant.RoleNightAuditor
	hk = tenant.RoleHousekeepingLead
	mt = tenant.RoleMaintenanceLead
	mg = tenant.RoleManager
	ad = tenant.RoleAdmin
)

var matrix = map[Right][]string{
	GuestData:       {fd, na, mg, ad},
	RevenueData:     {na, mg, ad},
	FrontOffice:     {fd, na, mg, ad},
	HousekeepingOps: {hk, mg, ad},
	LockAlerts:      {fd, na, mt, mg, ad},
	OthersActivity:  {na, mg, ad},
	DeskActions:     {fd, na, mg, ad},
	Override:        {na, mg, ad},
	Unlisted:        {mg, ad},
}

// Rights lists every right, in a fixed order.
func Rights() []Right {
	return []Right{GuestData, RevenueData, FrontOffice, HousekeepingOps, LockAlerts, OthersActivity, DeskActions, Override, Unlisted}
}

// Roles returns the roles that hold right r (none for an unknown right).
func Roles(r Right) []string { return slices.Clone(matrix[r]) }

// Has reports whether an operator holding roles has every right in rs.
// No rights asked is true; an unknown right is never held.
func Has(roles []string, rs ...Right) bool {
	for _, r := range rs {
		if !slices.ContainsFunc(matrix[r], func(role string) bool { return slices.Contains(roles, role) }) {
			return false
		}
	}
	return true
}

// Require is Has as a 403 FORBIDDEN_ROLE.
func Require(roles []string, rs ...Right) error {
	if Has(roles, rs...) {
		return nil
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = string(r)
	}
	return apperr.New(apperr.ForbiddenRole, "the session's roles lack %s", strings.Join(names, ", "))
}

// suggestionRights are the rights each suggestion category needs to be
// seen or decided. A category that names guests (special handling) needs
// guest data on top of its own row.
var suggestionRights = map[string][]Right{
	"overbooking_warning":    {FrontOffice},
	"rate_change":            {RevenueData},
	"housekeeping_reorder":   {HousekeepingOps},
	"guest_special_handling": {Unlisted, GuestData},
}

// Suggestion returns the rights needed to see or decide a suggestion of
// category; an unknown or unlisted category needs Unlisted.
func Suggestion(category string) []Right {
	if rs, ok := suggestionRights[category]; ok {
		return rs
	}
	return []Right{Unlisted}
}

var alertRights = map[string][]Right{
	"oversold":       {FrontOffice},
	"no_show":        {FrontOffice},
	"payment_failed": {FrontOffice},
	"lock_failed":    {LockAlerts},
}

// Alert returns the rights needed to see or acknowledge an alert of
// category; an unknown or unlisted category needs Unlisted.
func Alert(category string) []Right {
	if rs, ok := alertRights[category]; ok {
		return rs
	}
	return []Right{Unlisted}
}

// SuggestionCategories returns the categories with their own row, for
// tests and docs.
func SuggestionCategories() []string { return keys(suggestionRights) }

// AlertCategories returns the alert categories with their own row.
func AlertCategories() []string { return keys(alertRights) }

func keys(m map[string][]Right) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// precedence orders roles from the most to the least privileged; Primary
// uses it.
var precedence = []string{ad, mg, na, fd, mt, hk}

// Primary is the single role that stands for an operator's role set where
// one enum value is required (a snapshot's operatorRole): the most
// privileged role held. The cache key still uses the whole set, so two
// operators share a snapshot only when they hold exactly the same roles.
func Primary(roles []string) string {
	for _, r := range precedence {
		if slices.Contains(roles, r) {
			return r
		}
	}
	return ""
}
