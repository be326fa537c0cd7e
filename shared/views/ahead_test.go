package views_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/views"
)

// A lookup sent ahead (in the session's resolve round trip) answers the
// request it was guessed for, so a cached dashboard costs Get no round trip
// of its own; a wrong guess — other roles, another property — is never
// served: Get reads for itself, and each operator gets their own dashboard.
func TestAheadServesOnlyTheRequestItWasGuessedFor(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	rdb := testenv.Redis(t)
	ctx := context.Background()
	manager := operator(tenant.RoleManager)
	housekeeping := manager
	housekeeping.Roles = []string{tenant.RoleHousekeepingLead}

	dashboard := func(ctx context.Context, a actor.Actor, prop string) views.Dashboard {
		t.Helper()
		return dashboardOf(t, ctx, s, a, prop)
	}
	// sent runs the rider in a pipeline of its own, as the resolve would.
	ahead := func(guess actor.Actor, prop string) context.Context {
		t.Helper()
		actx, rider := s.Ahead(ctx, guess, "dashboard", prop)
		if rider == nil {
			t.Fatal("nothing went ahead")
		}
		pipe := rdb.Pipeline()
		rider.Queue(ctx, pipe)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		return actx
	}
	// Cache both operators' dashboards.
	want := dashboard(ctx, manager, "")
	wantHK := dashboard(ctx, housekeeping, "")
	if want.ID == wantHK.ID {
		t.Fatal("the two role sets share a snapshot: the test would prove nothing")
	}
	lookups := s.Composer.Lookups()

	// The right guess: no lookup of Get's own, the same snapshot.
	if got := dashboard(ahead(manager, ""), manager, ""); got.ID != want.ID {
		t.Errorf("guessed right: snapshot %s, want %s", got.ID, want.ID)
	}
	if n := s.Composer.Lookups() - lookups; n != 0 {
		t.Errorf("guessed right: Get sent %d lookups of its own, want 0", n)
	}

	// The guess was the manager's, the request is the housekeeping lead's
	// (roles changed since this instance last saw the session).
	lookups = s.Composer.Lookups()
	got := dashboard(ahead(manager, ""), housekeeping, "")
	if got.ID != wantHK.ID || got.OperatorRole != tenant.RoleHousekeepingLead {
		t.Errorf("guessed other roles: served %s as %q, want %s as %q", got.ID, got.OperatorRole, wantHK.ID, tenant.RoleHousekeepingLead)
	}
	if _, ok := got.Widgets[views.WRevenue]; ok {
		t.Error("guessed other roles: the housekeeping lead got the revenue widget")
	}
	if n := s.Composer.Lookups() - lookups; n != 1 {
		t.Errorf("guessed other roles: Get sent %d lookups of its own, want 1", n)
	}

	// Another property than the guess's default.
	other := manager.PropertyScope[0]
	lookups = s.Composer.Lookups()
	if got := dashboard(ahead(manager, ""), manager, other); got.PropertyID != other {
		t.Errorf("guessed another property: served %s, want %s", got.PropertyID, other)
	}
	if n := s.Composer.Lookups() - lookups; n != 1 {
		t.Errorf("guessed another property: Get sent %d lookups of its own, want 1", n)
	}

	// A property outside the guess's scope sends nothing ahead.
	if _, rider := s.Ahead(ctx, manager, "dashboard", "prp_01JB0000000000000000000000"); rider != nil {
		t.Error("a property outside the scope was read ahead")
	}
}

// A rider whose pipeline failed (the script unknown to a restarted Redis)
// leaves Get to read for itself.
func TestAheadThatFailedIsReadAgain(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	rdb := testenv.Redis(t)
	ctx := context.Background()
	a := operator(tenant.RoleFrontDesk)
	first, _, err := s.Dashboard(ctx, a, "")
	if err != nil {
		t.Fatal(err)
	}
	actx, rider := s.Ahead(ctx, a, "dashboard", "")
	pipe := rdb.Pipeline()
	rider.Queue(ctx, pipe)
	pipe.Discard() // never sent: its command carries no answer
	lookups := s.Composer.Lookups()
	again, _, err := s.Dashboard(actx, a, "")
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(first) {
		t.Errorf("the answer changed:\n%s\n%s", first, again)
	}
	if n := s.Composer.Lookups() - lookups; n != 1 {
		t.Errorf("Get sent %d lookups of its own, want 1", n)
	}
}

// dashboardOf is a's dashboard of prop from s, decoded; any error fails t.
func dashboardOf(t *testing.T, ctx context.Context, s *views.Service, a actor.Actor, prop string) views.Dashboard {
	t.Helper()
	b, _, err := s.Dashboard(ctx, a, prop)
	if err != nil {
		t.Fatal(err)
	}
	var d views.Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return d
}
