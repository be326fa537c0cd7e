// Package shortcuts is the operator's KeyboardShortcutMap: a static map
// of defaults (this package) with the operator's overrides laid over it —
// the global ones, then those of one property. tenant-service owns the
// overrides and their versions (one document for the global overrides,
// one per property); the BFF mirrors each document in Redis
// (shared/mirror), and a write names the version it replaces
// (tenant-service decides: a stale one is 412 VERSION_CONFLICT, never a
// lost update).
//
// A write whose overrides, laid over what lies below them (the defaults,
// and for a property's overrides the current global ones), would bind one
// combination to two commands is refused with each clash in errors[].
package shortcuts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/mirror"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// Owner is tenant-service as shortcuts need it (*tenant.Client).
type Owner interface {
	OperatorShortcuts(ctx context.Context, tenantID, operatorID, propertyID string) (tenant.ShortcutOverrides, error)
	PutShortcuts(ctx context.Context, tenantID, operatorID, propertyID string, expected int64, overrides map[string]string) (tenant.ShortcutOverrides, error)
}

// Map is GET /v1/shortcuts' body. ID, Version, UpdatedAt and Overrides
// are those of the document a PUT with the same propertyId replaces (the
// global one when PropertyID is empty); Effective is the defaults with
// the global overrides, then the property's, laid over them.
type Map struct {
	ID         string            `json:"id"`
	TenantID   string            `json:"tenantId"`
	OperatorID string            `json:"operatorId"`
	PropertyID string            `json:"propertyId,omitempty"`
	Version    int64             `json:"version"`
	UpdatedAt  jsontime.Time     `json:"updatedAt"`
	Defaults   map[string]string `json:"defaults"`
	Overrides  map[string]string `json:"overrides"`
	Effective  map[string]string `json:"effective"`
}

// ETag is the entity tag of m: its document's version, quoted.
func (m Map) ETag() string { return mirror.ETag(m.Version) }

// Update is the body of PUT /v1/shortcuts: the document's overrides,
// whole ({} removes them all). A combination of "" leaves the command
// without a shortcut.
type Update struct {
	Overrides map[string]string `json:"overrides"`
}

// Service is the mirror and the write path.
type Service struct {
	Redis *redisx.Client
	Owner Owner
}

// doc is one mirrored overrides document.
type doc struct {
	ID         string            `json:"id"`
	PropertyID string            `json:"propertyId,omitempty"`
	Version    int64             `json:"version"`
	UpdatedAt  jsontime.Time     `json:"updatedAt"`
	Overrides  map[string]string `json:"overrides"`
}

// scope resolves the propertyId query: "" is the global document; a named
// property must be in the actor's scope.
func scope(a actor.Actor, propertyID string) error {
	if propertyID == "" {
		return nil
	}
	return a.CheckProperty("propertyId", propertyID)
}

// Get returns a's shortcut map: the global document's when propertyID is
// "", else that property's (overrides laid over the global ones).
func (s *Service) Get(ctx context.Context, a actor.Actor, propertyID string) (_ Map, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "shortcuts.Get")
	note := activity.Note{Category: activity.CategoryView, Action: activity.ActionShortcutsViewed, PropertyID: propertyID}
	if err := scope(a, propertyID); err != nil {
		note.PropertyID = ""
		return Map{}, note, err
	}
	global, err := s.doc(ctx, a, "")
	if err != nil {
		return Map{}, note, err
	}
	if propertyID == "" {
		return s.answer(a, global, global.Overrides), note, nil
	}
	prop, err := s.doc(ctx, a, propertyID)
	if err != nil {
		return Map{}, note, err
	}
	return s.answer(a, prop, global.Overrides, prop.Overrides), note, nil
}

// Put replaces the overrides of a's global document (propertyID "") or of
// that property's, if its version is the one ifMatch names: no If-Match
// is 428 PRECONDITION_REQUIRED; a stale one 412 VERSION_CONFLICT naming
// the current version (and the mirror is refreshed to it). Unknown
// commands, malformed combinations and clashes are 400 VALIDATION_FAILED
// with every one in errors[].
func (s *Service) Put(ctx context.Context, a actor.Actor, propertyID, ifMatch string, u Update) (_ Map, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "shortcuts.Put")
	note := activity.Note{Category: activity.CategoryPreferencesChanged, Action: activity.ActionShortcutsChanged, PropertyID: propertyID,
		Resource: &activity.Ref{Kind: "shortcuts", ID: a.OperatorID}}
	if err := scope(a, propertyID); err != nil {
		note.PropertyID = ""
		return Map{}, note, err
	}
	expected, err := mirror.IfMatch(ifMatch, `PUT /v1/shortcuts needs If-Match: "<version>" (the ETag of GET /v1/shortcuts with the same propertyId)`)
	if err != nil {
		return Map{}, note, err
	}
	overrides, err := normalize(u)
	if err != nil {
		return Map{}, note, err
	}
	var below []map[string]string
	var global doc
	if propertyID != "" {
		if global, err = s.doc(ctx, a, ""); err != nil {
			return Map{}, note, err
		}
		below = append(below, global.Overrides)
	}
	if err := clashes(overrides, below...); err != nil {
		return Map{}, note, err
	}
	got, err := s.Owner.PutShortcuts(ctx, a.TenantID, a.OperatorID, propertyID, expected, overrides)
	if errors.Is(err, tenant.ErrVersionConflict) {
		detail := "the shortcuts changed since you read them"
		if cur, cerr := s.Owner.OperatorShortcuts(ctx, a.TenantID, a.OperatorID, propertyID); cerr == nil {
			d := s.store(ctx, a, cur)
			detail = fmt.Sprintf("the shortcuts changed since you read them; the current version is %d (ETag \"%d\")", d.Version, d.Version)
		}
		return Map{}, note, apperr.Wrap(apperr.VersionConflict, err, "%s", detail)
	}
	if err != nil {
		return Map{}, note, err
	}
	d := s.store(ctx, a, got)
	if propertyID == "" {
		return s.answer(a, d, d.Overrides), note, nil
	}
	return s.answer(a, d, global.Overrides, d.Overrides), note, nil
}

func (s *Service) answer(a actor.Actor, d doc, layers ...map[string]string) Map {
	return Map{
		ID: d.ID, TenantID: a.TenantID, OperatorID: a.OperatorID, PropertyID: d.PropertyID, Version: d.Version, UpdatedAt: d.UpdatedAt,
		Defaults: Defaults(), Overrides: maps.Clone(d.Overrides), Effective: merge(layers...),
	}
}

// maxOverrides bounds a PUT: one override per command is all there can be.
var maxOverrides = len(defaults)

// normalize checks u's overrides — known commands, valid combinations or
// "" — and returns them in canonical spelling.
func normalize(u Update) (map[string]string, error) {
	if u.Overrides == nil {
		return nil, apperr.Validation(apperr.FieldError{Field: "overrides", Message: "is required: an object of command → combination ({} for none)"})
	}
	if len(u.Overrides) > maxOverrides {
		return nil, apperr.Validation(apperr.FieldError{Field: "overrides", Message: fmt.Sprintf("must have at most %d commands", maxOverrides)})
	}
	var fe []apperr.FieldError
	out := make(map[string]string, len(u.Overrides))
	for _, cmd := range sortedKeys(u.Overrides) {
		field := "overrides." + cmd
		if len(cmd) > 64 {
			field = "overrides"
		}
		if _, known := defaults[cmd]; !known {
			fe = append(fe, apperr.FieldError{Field: field, Message: "is not a command (GET /v1/shortcuts lists them under defaults)"})
			continue
		}
		combo := u.Overrides[cmd]
		if combo == "" {
			out[cmd] = ""
			continue
		}
		c, err := Canonical(combo)
		if err != nil {
			fe = append(fe, apperr.FieldError{Field: field, Message: err.Error()})
			continue
		}
		out[cmd] = c
	}
	if len(fe) > 0 {
		return nil, apperr.Validation(fe...)
	}
	return out, nil
}

// clashes refuses overrides that, laid over the defaults and below (with
// no shadowing: a write must not silently unbind anything), bind one
// combination to two commands. Each clash is reported on the overriding
// command(s).
func clashes(overrides map[string]string, below ...map[string]string) error {
	eff := Defaults()
	for _, l := range below {
		maps.Copy(eff, merge(l))
	}
	maps.Copy(eff, overrides)
	byCombo := map[string][]string{}
	for _, cmd := range sortedKeys(eff) {
		if c := eff[cmd]; c != "" {
			byCombo[c] = append(byCombo[c], cmd)
		}
	}
	var fe []apperr.FieldError
	for _, cmd := range sortedKeys(overrides) {
		c := overrides[cmd]
		if c == "" || len(byCombo[c]) < 2 {
			continue
		}
		var others []string
		for _, o := range byCombo[c] {
			if o != cmd {
				others = append(others, o)
			}
		}
		fe = append(fe, apperr.FieldError{Field: "overrides." + cmd, Message: fmt.Sprintf("%s is also bound to %s", c, strings.Join(others, ", "))})
	}
	if len(fe) > 0 {
		return apperr.Validation(fe...)
	}
	return nil
}

// doc returns a's overrides document for propertyID ("" global): the
// mirror, else tenant-service's (then mirrored).
func (s *Service) doc(ctx context.Context, a actor.Actor, propertyID string) (doc, error) {
	if d, ok := s.mirrored(ctx, a, propertyID); ok {
		return d, nil
	}
	t, err := s.Owner.OperatorShortcuts(ctx, a.TenantID, a.OperatorID, propertyID)
	if err != nil {
		return doc{}, err
	}
	return s.store(ctx, a, t), nil
}

// store mirrors t unless a newer version is mirrored, and returns the
// mirror's newest.
func (s *Service) store(ctx context.Context, a actor.Actor, t tenant.ShortcutOverrides) doc {
	d := doc{ID: t.ID, PropertyID: t.PropertyID, Version: t.Version, UpdatedAt: jsontime.Of(t.UpdatedAt), Overrides: t.Overrides}
	if d.Overrides == nil {
		d.Overrides = map[string]string{}
	}
	return mirror.Store(ctx, s.Redis, s.Redis.KeyNames().Shortcuts(a.TenantID, a.OperatorID, t.PropertyID), "shortcuts", d.Version, d, rediskeys.PreferencesTTL,
		func(newest doc) bool { return newest.PropertyID == t.PropertyID && newest.Overrides != nil })
}

func (s *Service) mirrored(ctx context.Context, a actor.Actor, propertyID string) (doc, bool) {
	return mirror.Load(ctx, s.Redis, s.Redis.KeyNames().Shortcuts(a.TenantID, a.OperatorID, propertyID), "shortcuts", func(d doc) bool {
		return d.PropertyID == propertyID && d.Version >= 1 && d.Overrides != nil
	})
}
