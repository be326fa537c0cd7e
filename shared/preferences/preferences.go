// Package preferences is the operator's OperatorPreferences (without
// shortcuts): tenant-service owns them and their version; the BFF keeps a
// mirror in Redis (shared/mirror) for fast GET /v1/preferences. Writes go
// to tenant-service with the version the client's If-Match names; the
// service decides: a stale version is 412 VERSION_CONFLICT with the
// current version, never a lost update.
package preferences

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/mirror"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// Owner is tenant-service as preferences need it (*tenant.Client).
type Owner interface {
	OperatorPreferences(ctx context.Context, tenantID, operatorID string) (tenant.Preferences, error)
	PutPreferences(ctx context.Context, tenantID, operatorID string, expected int64, p tenant.Preferences) (tenant.Preferences, error)
}

// Preferences is GET /v1/preferences' body, and what the mirror holds:
// tenant-service's document, passed through (openapi.yaml,
// OperatorPreferences).
type Preferences tenant.Preferences

// ETag is the entity tag of p: its version, quoted.
func (p Preferences) ETag() string { return mirror.ETag(p.Version) }

// Layout and the other sections of PUT /v1/preferences.
type (
	Layout struct {
		Density       string              `json:"density"`
		ColumnsByPage map[string][]string `json:"columnsByPage"`
	}
	Notifications struct {
		Sound   *bool `json:"sound"`
		Popup   *bool `json:"popup"`
		AIBadge *bool `json:"aiBadge"`
	}
	I18n struct {
		Locale         string `json:"locale"`
		FirstDayOfWeek string `json:"firstDayOfWeek"`
	}
	Appearance struct {
		Theme               string  `json:"theme"`
		TenantThemeOverride *string `json:"tenantThemeOverride,omitempty"`
	}
)

// Update is the body of PUT /v1/preferences: every section, whole.
type Update struct {
	Layout        *Layout        `json:"layout"`
	Notifications *Notifications `json:"notifications"`
	I18n          *I18n          `json:"i18n"`
	Appearance    *Appearance    `json:"appearance"`
}

// Service is the mirror and the write path.
type Service struct {
	Redis *redisx.Client
	Owner Owner
}

var (
	pageRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	columnRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
	themeRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

func (u Update) validate() error {
	var fe []apperr.FieldError
	bad := func(f, m string) { fe = append(fe, apperr.FieldError{Field: f, Message: m}) }
	if u.Layout == nil {
		bad("layout", "is required")
	} else {
		if u.Layout.Density != "comfortable" && u.Layout.Density != "compact" {
			bad("layout.density", "must be comfortable or compact")
		}
		if len(u.Layout.ColumnsByPage) > 32 {
			bad("layout.columnsByPage", "must have at most 32 pages")
		}
		for page, cols := range u.Layout.ColumnsByPage {
			if !pageRE.MatchString(page) {
				bad("layout.columnsByPage", "page names must be lower-case, at most 64 characters")
			}
			if len(cols) > 64 {
				bad("layout.columnsByPage."+page, "must have at most 64 columns")
			}
			for _, c := range cols {
				if !columnRE.MatchString(c) {
					bad("layout.columnsByPage."+page, "column names must be letters, digits, _ . -, at most 64")
					break
				}
			}
		}
	}
	if n := u.Notifications; n == nil || n.Sound == nil || n.Popup == nil || n.AIBadge == nil {
		bad("notifications", "needs sound, popup and aiBadge")
	}
	if u.I18n == nil {
		bad("i18n", "is required")
	} else {
		if !session.ValidLocale(u.I18n.Locale) {
			bad("i18n.locale", "must be a BCP 47 tag such as en-US")
		}
		if u.I18n.FirstDayOfWeek != "sun" && u.I18n.FirstDayOfWeek != "mon" {
			bad("i18n.firstDayOfWeek", "must be sun or mon")
		}
	}
	if u.Appearance == nil {
		bad("appearance", "is required")
	} else {
		switch u.Appearance.Theme {
		case "system", "light", "dark":
		default:
			bad("appearance.theme", "must be system, light or dark")
		}
		if o := u.Appearance.TenantThemeOverride; o != nil && !themeRE.MatchString(*o) {
			bad("appearance.tenantThemeOverride", "must be 1–64 letters, digits, _ or -")
		}
	}
	if len(fe) > 0 {
		return apperr.Validation(fe...)
	}
	return nil
}

// Get returns a's preferences: the mirror, else tenant-service's (then
// mirrored).
func (s *Service) Get(ctx context.Context, a actor.Actor) (_ Preferences, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "preferences.Get")
	note := activity.Note{Category: activity.CategoryView, Action: activity.ActionPreferencesViewed}
	if p, ok := s.mirrored(ctx, a); ok {
		return p, note, nil
	}
	tp, err := s.Owner.OperatorPreferences(ctx, a.TenantID, a.OperatorID)
	if err != nil {
		return Preferences{}, note, err
	}
	return s.store(ctx, a, tp), note, nil
}

// Put writes u through to tenant-service if its version is the one
// ifMatch names (`"<version>"`): no If-Match is 428
// PRECONDITION_REQUIRED; a stale one is 412 VERSION_CONFLICT naming the
// current version (and the mirror is refreshed to it). On success the new
// version is mirrored and returned.
func (s *Service) Put(ctx context.Context, a actor.Actor, ifMatch string, u Update) (_ Preferences, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "preferences.Put")
	note := activity.Note{Category: activity.CategoryPreferencesChanged, Action: activity.ActionPreferencesChanged, Resource: &activity.Ref{Kind: "preferences", ID: a.OperatorID}}
	expected, err := mirror.IfMatch(ifMatch, `PUT /v1/preferences needs If-Match: "<version>" (the ETag of GET /v1/preferences)`)
	if err != nil {
		return Preferences{}, note, err
	}
	if err := u.validate(); err != nil {
		return Preferences{}, note, err
	}
	var tp tenant.Preferences
	tp.Layout, _ = json.Marshal(u.Layout)
	tp.Notifications, _ = json.Marshal(u.Notifications)
	tp.I18n, _ = json.Marshal(u.I18n)
	tp.Appearance, _ = json.Marshal(u.Appearance)
	got, err := s.Owner.PutPreferences(ctx, a.TenantID, a.OperatorID, expected, tp)
	if errors.Is(err, tenant.ErrVersionConflict) {
		detail := "the preferences changed since you read them"
		if cur, cerr := s.Owner.OperatorPreferences(ctx, a.TenantID, a.OperatorID); cerr == nil {
			p := s.store(ctx, a, cur)
			detail = fmt.Sprintf("the preferences changed since you read them; the current version is %d (ETag %s)", p.Version, p.ETag())
		}
		return Preferences{}, note, apperr.Wrap(apperr.VersionConflict, err, "%s", detail)
	}
	if err != nil {
		return Preferences{}, note, err
	}
	return s.store(ctx, a, got), note, nil
}

// store mirrors tp unless a newer version is mirrored, and returns the
// mirror's newest.
func (s *Service) store(ctx context.Context, a actor.Actor, tp tenant.Preferences) Preferences {
	p := Preferences(tp)
	// The mirror is a's: mirrored reads back only a copy naming a.
	p.TenantID, p.OperatorID = a.TenantID, a.OperatorID
	return mirror.Store(ctx, s.Redis, s.Redis.KeyNames().Preferences(a.TenantID, a.OperatorID), "preferences", p.Version, p, rediskeys.PreferencesTTL, nil)
}

func (s *Service) mirrored(ctx context.Context, a actor.Actor) (Preferences, bool) {
	return mirror.Load(ctx, s.Redis, s.Redis.KeyNames().Preferences(a.TenantID, a.OperatorID), "preferences", func(p Preferences) bool {
		return p.TenantID == a.TenantID && p.OperatorID == a.OperatorID
	})
}
