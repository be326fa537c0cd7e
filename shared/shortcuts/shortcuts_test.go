package shortcuts_test

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/mirror/mirrortest"
	"github.com/melmastoon/bff-backoffice/shared/shortcuts"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// owner is tenant-service in memory (its HTTP fake and the client are
// tested together in infra/fakes/tenant): one lock around compare and
// write, one document per (operator, property or "").
type owner struct {
	mu    sync.Mutex
	docs  map[string]tenant.ShortcutOverrides
	reads int
	hold  mirrortest.Hold
}

func newOwner() *owner { return &owner{docs: map[string]tenant.ShortcutOverrides{}} }

func (o *owner) get(pid string) tenant.ShortcutOverrides {
	d, ok := o.docs[pid]
	if !ok {
		d = tenant.ShortcutOverrides{ID: ids.New(ids.ShortcutMap), PropertyID: pid, Version: 1, UpdatedAt: time.Now(), Overrides: map[string]string{}}
		o.docs[pid] = d
	}
	return d
}

func (o *owner) OperatorShortcuts(_ context.Context, _, _, pid string) (tenant.ShortcutOverrides, error) {
	o.mu.Lock()
	d := o.get(pid)
	d.Overrides = maps.Clone(d.Overrides)
	o.reads++
	o.mu.Unlock()
	o.hold.Wait()
	return d, nil
}

func (o *owner) PutShortcuts(_ context.Context, _, _, pid string, expected int64, ov map[string]string) (tenant.ShortcutOverrides, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d := o.get(pid)
	if expected != d.Version {
		return tenant.ShortcutOverrides{}, &httpc.ConflictError{Service: "tenant-service", Op: "put", Code: "VERSION_CONFLICT"}
	}
	d.Version, d.UpdatedAt, d.Overrides = d.Version+1, time.Now(), maps.Clone(ov)
	o.docs[pid] = d
	return d, nil
}

func (o *owner) doc(pid string) tenant.ShortcutOverrides {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.get(pid)
}

func who() actor.Actor {
	return actor.Actor{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device), SessionID: ids.New(ids.Session),
		PropertyScope: []string{ids.New(ids.Property), ids.New(ids.Property)}}
}

// getGlobal reads a's global shortcut map through s.
func getGlobal(s *shortcuts.Service, a actor.Actor) func() (shortcuts.Map, error) {
	return func() (shortcuts.Map, error) {
		m, _, err := s.Get(context.Background(), a, "")
		return m, err
	}
}

func newService(t *testing.T) (*shortcuts.Service, *owner) {
	o := newOwner()
	return &shortcuts.Service{Redis: testenv.Redis(t), Owner: o}, o
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Ctrl+Shift+K": "Ctrl+Shift+K", "shift+ctrl+k": "Ctrl+Shift+K", "Meta+Alt+1": "Alt+Meta+1",
		"F5": "F5", "f12": "F12", "Ctrl+/": "Ctrl+/", "Alt+pageup": "Alt+PageUp", "Ctrl+Alt+Shift+Meta+Backspace": "Ctrl+Alt+Shift+Meta+Backspace",
	} {
		if got, err := shortcuts.Canonical(in); err != nil || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "Enter", "Ctrl+Ctrl+K", "Hyper+K", "Ctrl+", "Ctrl+KK", "F0", "F25", "F05", "Ctrl+Shift", "Ctrl++", "+K", strings.Repeat("Ctrl+", 8) + "K"} {
		if got, err := shortcuts.Canonical(in); err == nil {
			t.Errorf("Canonical(%q) = %q; want an error", in, got)
		}
	}
}

// The defaults bind no combination twice, and every one is canonical.
func TestDefaultsAreConsistent(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for cmd, c := range shortcuts.Defaults() {
		if got, err := shortcuts.Canonical(c); err != nil || got != c {
			t.Errorf("%s: %q is not canonical (%q, %v)", cmd, c, got, err)
		}
		if o, dup := seen[c]; dup {
			t.Errorf("%s binds %s as %s does", cmd, c, o)
		}
		seen[c] = cmd
	}
}

func TestGetDefaultsAndReadThroughOnce(t *testing.T) {
	t.Parallel()
	s, o := newService(t)
	ctx := context.Background()
	a := who()
	for range 3 {
		m, note, err := s.Get(ctx, a, "")
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != 1 || m.ETag() != `"1"` || !ids.Valid(ids.ShortcutMap, m.ID) || len(m.Overrides) != 0 || !maps.Equal(m.Effective, shortcuts.Defaults()) {
			t.Fatalf("first map: %+v", m)
		}
		if note.Action != "shortcuts.viewed" {
			t.Fatalf("note %+v", note)
		}
	}
	o.mu.Lock()
	reads := o.reads
	o.mu.Unlock()
	if reads != 1 {
		t.Fatalf("tenant-service read %d times for 3 GETs; the mirror should answer after the first", reads)
	}
}

// Overrides are stored canonical; the effective map has them, and a
// command overridden with "" has no shortcut.
func TestPutOverrides(t *testing.T) {
	t.Parallel()
	s, o := newService(t)
	ctx := context.Background()
	a := who()
	m, note, err := s.Put(ctx, a, "", `"1"`, shortcuts.Update{Overrides: map[string]string{"search.open": "shift+ctrl+p", "session.sign_out": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if note.Category != "preferences_changed" || note.Action != "shortcuts.changed" {
		t.Fatalf("note %+v", note)
	}
	if m.Version != 2 || m.Overrides["search.open"] != "Ctrl+Shift+P" || m.Effective["search.open"] != "Ctrl+Shift+P" ||
		m.Effective["session.sign_out"] != "" || m.Effective["command_palette.open"] != "Ctrl+K" || m.Defaults["search.open"] != "Ctrl+Shift+F" {
		t.Fatalf("after PUT: %+v", m)
	}
	if got := o.doc("").Overrides["search.open"]; got != "Ctrl+Shift+P" {
		t.Fatalf("tenant-service holds %q", got)
	}
	g, _, err := s.Get(ctx, a, "")
	if err != nil || g.Version != 2 || !maps.Equal(g.Effective, m.Effective) {
		t.Fatalf("GET after PUT: %+v, %v", g, err)
	}
}

// An override binding a combination another command holds — a default,
// or another override — is 400 with every clash in errors[], and nothing
// is written.
func TestClashesRefused(t *testing.T) {
	t.Parallel()
	s, o := newService(t)
	ctx := context.Background()
	a := who()
	_, _, err := s.Put(ctx, a, "", `"1"`, shortcuts.Update{Overrides: map[string]string{
		"search.open": "Ctrl+K",                          // the palette's default
		"today.open":  "Alt+T", "arrivals.open": "alt+t", // each other
	}})
	e := apperr.From(err)
	if e == nil || e.Code != apperr.ValidationFailed {
		t.Fatalf("clashing PUT: %v", err)
	}
	got := map[string]string{}
	for _, f := range e.Fields {
		got[f.Field] = f.Message
	}
	if len(got) != 3 || !strings.Contains(got["overrides.search.open"], "command_palette.open") ||
		!strings.Contains(got["overrides.today.open"], "arrivals.open") || !strings.Contains(got["overrides.arrivals.open"], "Alt+T") {
		t.Fatalf("errors[] = %+v", e.Fields)
	}
	if o.doc("").Version != 1 {
		t.Fatal("a refused PUT reached tenant-service")
	}
	// Moving the palette away first frees its combination.
	if _, _, err := s.Put(ctx, a, "", `"1"`, shortcuts.Update{Overrides: map[string]string{"search.open": "Ctrl+K", "command_palette.open": "Ctrl+P"}}); err != nil {
		t.Fatalf("swap: %v", err)
	}
	// Unknown commands and malformed combinations are field errors too.
	_, _, err = s.Put(ctx, a, "", `"2"`, shortcuts.Update{Overrides: map[string]string{"launch.rockets": "Ctrl+R", "today.open": "T"}})
	if e := apperr.From(err); e == nil || e.Code != apperr.ValidationFailed || len(e.Fields) != 2 {
		t.Fatalf("bad commands: %v", err)
	}
	// So is an update with no overrides at all.
	_, _, err = s.Put(ctx, a, "", `"2"`, shortcuts.Update{})
	apperrtest.WantCode(t, err, apperr.ValidationFailed)
}

// A property's overrides lie over the global ones: its effective map has
// both, the property's winning; a property override clashing with a
// global one is refused; the global map does not see the property's.
func TestPerPropertyOverrides(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	a := who()
	p := a.PropertyScope[1]
	if _, _, err := s.Put(ctx, a, "", `"1"`, shortcuts.Update{Overrides: map[string]string{"search.open": "Ctrl+Shift+P", "folio.open": "Alt+F"}}); err != nil {
		t.Fatal(err)
	}
	m, note, err := s.Put(ctx, a, p, `"1"`, shortcuts.Update{Overrides: map[string]string{"folio.open": "Alt+B"}})
	if err != nil {
		t.Fatal(err)
	}
	if note.PropertyID != p || m.PropertyID != p || m.Version != 2 || len(m.Overrides) != 1 ||
		m.Effective["folio.open"] != "Alt+B" || m.Effective["search.open"] != "Ctrl+Shift+P" {
		t.Fatalf("property map: %+v", m)
	}
	g, _, err := s.Get(ctx, a, "")
	if err != nil || g.Effective["folio.open"] != "Alt+F" || g.Version != 2 {
		t.Fatalf("global map: %+v %v", g, err)
	}
	pm, _, err := s.Get(ctx, a, p)
	if err != nil || pm.Effective["folio.open"] != "Alt+B" || pm.ID == g.ID {
		t.Fatalf("property GET: %+v %v", pm, err)
	}
	// Alt+F is the global folio binding: another command may not take it
	// on the property while folio.open keeps it there.
	_, _, err = s.Put(ctx, a, p, `"2"`, shortcuts.Update{Overrides: map[string]string{"folio.open": "Alt+F", "alerts.open": "Ctrl+Shift+P"}})
	apperrtest.WantCode(t, err, apperr.ValidationFailed)
	// A later global change taking the property's combination: the
	// property's binding wins there, the global command is unbound on it.
	if _, _, err := s.Put(ctx, a, "", `"2"`, shortcuts.Update{Overrides: map[string]string{"alerts.open": "Alt+B"}}); err != nil {
		t.Fatal(err)
	}
	pm, _, err = s.Get(ctx, a, p)
	if err != nil || pm.Effective["folio.open"] != "Alt+B" || pm.Effective["alerts.open"] != "" {
		t.Fatalf("property map after a colliding global change: %+v %v", pm.Effective, err)
	}
	// Out of scope and malformed properties.
	_, _, err = s.Get(ctx, a, ids.New(ids.Property))
	apperrtest.WantCode(t, err, apperr.PropertyOutOfScope)
	_, _, err = s.Put(ctx, a, "prp_nope", `"1"`, shortcuts.Update{Overrides: map[string]string{}})
	apperrtest.WantCode(t, err, apperr.ValidationFailed)
}

func TestPutPreconditions(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	a := who()
	mirrortest.Preconditions(t, func(ifMatch string) error {
		_, _, err := s.Put(ctx, a, "", ifMatch, shortcuts.Update{Overrides: map[string]string{}})
		return err
	})
}

// 20 concurrent PUTs with the same If-Match: exactly one wins, the others
// are 412 naming the current version, and the mirror ends equal to
// tenant-service's copy.
func TestConcurrentPutsOneWins(t *testing.T) {
	t.Parallel()
	s, o := newService(t)
	ctx := context.Background()
	a := who()
	got := mirrortest.Race(t, 20, getGlobal(s, a), func(i int, ifMatch string) error {
		_, _, err := s.Put(ctx, a, "", ifMatch, shortcuts.Update{Overrides: map[string]string{"search.open": []string{"Alt+1", "Alt+2"}[i%2]}})
		return err
	})
	want := o.doc("")
	if got.Version != 2 || want.Version != 2 || got.Overrides["search.open"] != want.Overrides["search.open"] {
		t.Fatalf("mirror v%d %v, tenant-service v%d %v", got.Version, got.Overrides, want.Version, want.Overrides)
	}
}

// A read-through that fetched an old version and lands after a
// write-through never overwrites the newer mirror.
func TestSlowReadThroughCannotOverwrite(t *testing.T) {
	t.Parallel()
	s, o := newService(t)
	ctx := context.Background()
	a := who()
	slow := mirrortest.SlowReadThrough(t, &o.hold, getGlobal(s, a),
		func(m shortcuts.Map) int64 { return m.Version },
		func() error {
			_, _, err := s.Put(ctx, a, "", `"1"`, shortcuts.Update{Overrides: map[string]string{"search.open": "Alt+S"}})
			return err
		})
	if slow.Effective["search.open"] != "Alt+S" {
		t.Errorf("the slow read answered search.open %q; the mirror's newest binds Alt+S", slow.Effective["search.open"])
	}
}
