package activity_test

import (
	"regexp"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/activity"
)

// wellFormed is "<resource>.<verb>", or "workbench.<kind>.opened": lower
// case, words joined by _ (kinds by -), within the ledger's length.
var wellFormed = regexp.MustCompile(`^[a-z][a-z_]*(\.[a-z][a-z_-]*)?\.[a-z][a-z_]*$`)

func TestActionRegistry(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, a := range activity.Actions() {
		if seen[a.Name] {
			t.Errorf("action %q listed twice", a.Name)
		}
		seen[a.Name] = true
		if !wellFormed.MatchString(a.Name) || len(a.Name) > activity.MaxAction {
			t.Errorf("action %q is not <resource>.<verb> in lower case", a.Name)
		}
		if !a.Category.Valid() {
			t.Errorf("action %q has category %q, not one the ledger accepts", a.Name, a.Category)
		}
		if c, ok := activity.CategoryOf(a.Name); !ok || c != a.Category {
			t.Errorf("CategoryOf(%q) = %q, %v; want %q", a.Name, c, ok, a.Category)
		}
	}
	if _, ok := activity.CategoryOf("dashboard.deleted"); ok {
		t.Error("CategoryOf knows an action that is not registered")
	}
}

func TestWorkbenchOpenedIsRegistered(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]string{
		"today":              activity.ActionWorkbenchTodayOpened,
		"arrivals":           activity.ActionWorkbenchArrivalsOpened,
		"departures":         activity.ActionWorkbenchDeparturesOpened,
		"in-house":           activity.ActionWorkbenchInHouseOpened,
		"housekeeping-board": activity.ActionWorkbenchHousekeepingBoardOpened,
		"maintenance-board":  activity.ActionWorkbenchMaintenanceBoardOpened,
	} {
		got := activity.WorkbenchOpened(kind)
		if got != want {
			t.Errorf("WorkbenchOpened(%q) = %q, want %q", kind, got, want)
		}
		if c, ok := activity.CategoryOf(got); !ok || c != activity.CategoryView {
			t.Errorf("%q: category %q registered %v, want view", got, c, ok)
		}
	}
}
