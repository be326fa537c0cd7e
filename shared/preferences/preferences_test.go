package preferences_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/mirror/mirrortest"
	"github.com/melmastoon/bff-backoffice/shared/preferences"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// owner is tenant-service in memory: one lock around compare and write.
type owner struct {
	mu   sync.Mutex
	doc  tenant.Preferences
	hold mirrortest.Hold
}

func newOwner() *owner {
	return &owner{doc: tenant.Preferences{Version: 1, UpdatedAt: jsontime.Now(),
		Layout: json.RawMessage(`{"density":"comfortable","columnsByPage":{}}`), Notifications: json.RawMessage(`{"sound":true,"popup":true,"aiBadge":true}`),
		I18n: json.RawMessage(`{"locale":"en-US","firstDayOfWeek":"mon"}`), Appearance: json.RawMessage(`{"theme":"system"}`)}}
}

func (o *owner) OperatorPreferences(context.Context, string, string) (tenant.Preferences, error) {
	o.mu.Lock()
	d := o.doc
	o.mu.Unlock()
	o.hold.Wait()
	return d, nil
}

func (o *owner) PutPreferences(_ context.Context, _, _ string, expected int64, p tenant.Preferences) (tenant.Preferences, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if expected != o.doc.Version {
		return tenant.Preferences{}, &httpc.ConflictError{Service: "tenant-service", Op: "put", Code: "VERSION_CONFLICT"}
	}
	p.Version, p.UpdatedAt = o.doc.Version+1, jsontime.Now()
	o.doc = p
	return p, nil
}

// newService is the service over Redis and a new owner.
func newService(t *testing.T) (*preferences.Service, *owner) {
	o := newOwner()
	return &preferences.Service{Redis: testenv.Redis(t), Owner: o}, o
}

// get reads a's preferences through s.
func get(s *preferences.Service, a actor.Actor) func() (preferences.Preferences, error) {
	return func() (preferences.Preferences, error) {
		p, _, err := s.Get(context.Background(), a)
		return p, err
	}
}

func update(theme string) preferences.Update {
	t := true
	return preferences.Update{
		Layout:        &preferences.Layout{Density: "compact", ColumnsByPage: map[string][]string{"arrivals": {"guest", "room"}}},
		Notifications: &preferences.Notifications{Sound: &t, Popup: &t, AIBadge: &t},
		I18n:          &preferences.I18n{Locale: "de-DE", FirstDayOfWeek: "mon"},
		Appearance:    &preferences.Appearance{Theme: theme},
	}
}

func who() actor.Actor {
	return actor.Actor{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session)}
}

// 20 concurrent PUTs with the same If-Match: exactly one wins, the others
// are 412 naming the current version, and the mirror ends equal to
// tenant-service's copy.
func TestConcurrentPutsOneWins(t *testing.T) {
	t.Parallel()
	s, o := newService(t)
	ctx := context.Background()
	a := who()
	got := mirrortest.Race(t, 20, get(s, a), func(i int, ifMatch string) error {
		_, _, err := s.Put(ctx, a, ifMatch, update([]string{"light", "dark"}[i%2]))
		return err
	})
	o.mu.Lock()
	want := o.doc
	o.mu.Unlock()
	if got.Version != want.Version || string(got.Appearance) != string(want.Appearance) || got.ETag() != `"2"` {
		t.Fatalf("mirror %d %s, tenant-service %d %s", got.Version, got.Appearance, want.Version, want.Appearance)
	}
}

// A read-through that fetched an old version and lands after a
// write-through never overwrites the newer mirror.
func TestSlowReadThroughCannotOverwrite(t *testing.T) {
	t.Parallel()
	s, o := newService(t)
	ctx := context.Background()
	a := who()
	mirrortest.SlowReadThrough(t, &o.hold, get(s, a),
		func(p preferences.Preferences) int64 { return p.Version },
		func() error {
			_, _, err := s.Put(ctx, a, `"1"`, update("dark"))
			return err
		})
}

func TestPutPreconditions(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	a := who()
	mirrortest.Preconditions(t, func(ifMatch string) error {
		_, _, err := s.Put(ctx, a, ifMatch, update("dark"))
		return err
	})
	bad := update("neon")
	bad.I18n.Locale = "english"
	if _, _, err := s.Put(ctx, a, `"1"`, bad); !apperr.Is(err, apperr.ValidationFailed) || len(apperr.From(err).Fields) != 2 {
		t.Errorf("invalid body: %v", err)
	}
}
