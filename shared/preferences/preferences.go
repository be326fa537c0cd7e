// Package preferences is the operator's OperatorPreferences (domain model
// §9, without shortcuts): tenant-service owns them and their version; the
// BFF keeps a mirror in Redis, filled by reads (read-through) and by its
// own writes (write-through), for fast GET /v1/preferences.
//
// The mirror only ever moves to a higher version (compare-and-set in one
// Lua script), so a read-through that fetched version 4 and lands after a
// write-through stored version 5 changes nothing. Writes go to
// tenant-service with the version the client's If-Match names; the
// service decides: a stale version is 412 VERSION_CONFLICT with the
// current version, never a lost update.
package preferences

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
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

// Preferences is GET /v1/preferences' body.
type Preferences struct {
	TenantID      string          `json:"tenantId"`
	OperatorID    string          `json:"operatorId"`
	Version       int64           `json:"version"`
	UpdatedAt     jsontime.Time   `json:"updatedAt"`
	Layout        json.RawMessage `json:"layout"`
	Notifications json.RawMessage `json:"notifications"`
	I18n          json.RawMessage `json:"i18n"`
	Appearance    json.RawMessage `json:"appearance"`
}

// ETag is the entity tag of p: its version, quoted.
func (p Preferences) ETag() string { return `"` + strconv.FormatInt(p.Version, 10) + `"` }

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
	if strings.TrimSpace(ifMatch) == "" {
		return Preferences{}, note, apperr.New(apperr.PreconditionRequired, `PUT /v1/preferences needs If-Match: "<version>" (the ETag of GET /v1/preferences)`)
	}
	expected, ok := parseETag(ifMatch)
	if !ok {
		return Preferences{}, note, apperr.Validation(apperr.FieldError{Field: "If-Match", Message: `must be one version in quotes, such as "7"`})
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

func parseETag(v string) (int64, bool) {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "W/"))
	if len(v) < 3 || len(v) > 22 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, false
	}
	n, err := strconv.ParseInt(v[1:len(v)-1], 10, 64)
	return n, err == nil && n >= 1
}

// storeScript replaces the mirror unless it holds a version at least as
// high, and returns the mirror's JSON after.
var storeScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if not cur or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGET', KEYS[1], 'd')`)

// store mirrors tp unless a newer version is mirrored, and returns the
// mirror's newest: what a reader may see. A Redis failure is logged and tp
// itself returned (tenant-service's answer is the truth).
func (s *Service) store(ctx context.Context, a actor.Actor, tp tenant.Preferences) Preferences {
	p := Preferences{
		TenantID: a.TenantID, OperatorID: a.OperatorID, Version: tp.Version, UpdatedAt: jsontime.Of(tp.UpdatedAt),
		Layout: tp.Layout, Notifications: tp.Notifications, I18n: tp.I18n, Appearance: tp.Appearance,
	}
	b, err := json.Marshal(p)
	if err != nil {
		return p
	}
	v, err := storeScript.Run(ctx, s.Redis, []string{s.Redis.KeyNames().Preferences(a.TenantID, a.OperatorID)},
		p.Version, b, rediskeys.PreferencesTTL.Milliseconds()).Text()
	if err != nil {
		logging.From(ctx).WarnContext(ctx, "mirror preferences", "err", err)
		return p
	}
	var newest Preferences
	if json.Unmarshal([]byte(v), &newest) != nil {
		return p
	}
	return newest
}

func (s *Service) mirrored(ctx context.Context, a actor.Actor) (Preferences, bool) {
	v, err := s.Redis.HGet(ctx, s.Redis.KeyNames().Preferences(a.TenantID, a.OperatorID), "d").Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			logging.From(ctx).WarnContext(ctx, "read preferences mirror", "err", err)
		}
		return Preferences{}, false
	}
	var p Preferences
	if json.Unmarshal([]byte(v), &p) != nil || p.TenantID != a.TenantID || p.OperatorID != a.OperatorID {
		return Preferences{}, false
	}
	return p, true
}
