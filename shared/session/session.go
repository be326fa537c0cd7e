// Package session holds the BackofficeSession aggregate (docs/DOMAIN.md): a
// device-bound operator session kept in Redis with a 12 h sliding
// idle lifetime, opened on the first authenticated request of a (tenant,
// operator, device) and ended by sign-out, revocation or idleness.
//
// Keys (all under the deployment's prefix; shared/rediskeys builds and
// documents them):
//
//	sess:<bosId>                        session JSON, kept 2 h past its idle expiry
//	sessidx:<tenant>:<operator>:<dev>   → bosId of the open session, 12 h sliding
//	sessop:<tenant>:<operator>          set of the operator's bosIds (operator-wide revocation)
//	sessexp                             zset bosId → idle expiry (ms): which sessions are alive
//	sessexp-claimed                     zset bosId → lease end: expired sessions a sweeper run holds
//	cutoff:<tenant>:<operator>[:<dev>]  hash {at, reason}: tokens issued at or before `at` are dead
//
// The cutoff markers are the authority for revocation and sign-out; the
// session's own state is informative. Markers outlive every token they can
// match (tokens live at most 12 h, which auth enforces), so a revocation is
// never forgotten while a token it covers could still be presented, even if
// the session key expired or was never created.
//
// The expiry index is the authority for idleness: a session is resumed only
// while its score lies ahead, and each resolve moves the score forward in
// the same script that reads it, and only while it lies ahead. The sweeper
// leases due sessions atomically, one run each, so an idle session is
// either resumed or expired, never both, and a late request after expiry
// opens a new session.
package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
)

// TTL is the sliding idle lifetime of a session.
const TTL = rediskeys.SessionTTL

// keep is the Redis TTL of a session's JSON: past its idle expiry, for the
// sweeper to read.
const keep = rediskeys.SessionKeep

// cutoffTTL keeps revocation markers longer than any token they can match.
const cutoffTTL = rediskeys.CutoffTTL

// touchEvery bounds how often a request rewrites lastActivityAt; the TTL
// itself slides on every request.
const touchEvery = time.Minute

// State is the lifecycle state of a session: open until signed out
// (closed), revoked, or idle for TTL (expired); never reopened.
type State string

// Session states.
const (
	StateOpen    State = "open"
	StateRevoked State = "revoked"
	StateClosed  State = "closed"
	StateExpired State = "expired"
)

// Session is the BackofficeSession aggregate.
type Session struct {
	ID                string        `json:"id"`
	TenantID          string        `json:"tenantId"`
	OperatorID        string        `json:"operatorId"`
	DeviceID          string        `json:"deviceId"`
	PropertyScope     []string      `json:"propertyScope"`
	PrimaryPropertyID string        `json:"primaryPropertyId,omitempty"`
	Roles             []string      `json:"roles"`
	Locale            string        `json:"locale"`
	ThemeVersion      string        `json:"themeVersion"`
	AppVersion        string        `json:"appVersion,omitempty"`
	AppPlatform       string        `json:"appPlatform,omitempty"`
	NetworkProfile    string        `json:"networkProfile"`
	State             State         `json:"state"`
	OpenedAt          jsontime.Time `json:"openedAt"`
	LastActivityAt    jsontime.Time `json:"lastActivityAt"`
	TTLExpiresAt      jsontime.Time `json:"ttlExpiresAt"`
	EndedAt           jsontime.Time `json:"endedAt"`
	EndReason         string        `json:"endReason,omitempty"`
	// AccessCheckedAt is when roles and scope were last read from
	// tenant-service, and AccessTokenIssuedAt the newest token iat seen
	// then: a newer token, or an older check, makes them be read again.
	AccessCheckedAt     jsontime.Time `json:"accessCheckedAt"`
	AccessTokenIssuedAt jsontime.Time `json:"accessTokenIssuedAt"`
	FingerprintHash     string        `json:"fingerprintHash"`
	IPHash              string        `json:"ipHash"`
}

// DefaultProperty is the property a property-scoped request uses when it
// names none: the operator's primary, else the first in scope.
func (s *Session) DefaultProperty() string {
	if s.PrimaryPropertyID != "" {
		return s.PrimaryPropertyID
	}
	if len(s.PropertyScope) > 0 {
		return s.PropertyScope[0]
	}
	return ""
}

// InScope reports whether propertyID is in the session's property scope.
func (s *Session) InScope(propertyID string) bool {
	return slices.Contains(s.PropertyScope, propertyID)
}

// HasRole reports whether the session holds any of roles.
func (s *Session) HasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(s.Roles, r) {
			return true
		}
	}
	return false
}

// Client describes the desktop build and network the request came from.
type Client struct {
	AppVersion     string
	AppPlatform    string
	NetworkProfile string
	Locale         string
	UserAgent      string
	IP             string
}

var (
	localeRE     = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?(-[A-Z][a-z]{3})?$`)
	appVersionRE = regexp.MustCompile(`^[0-9A-Za-z.+_-]{1,40}$`)
)

// ValidLocale reports whether s is a BCP 47 tag of the shape the desktop
// client can load: language, optional region, optional script.
func ValidLocale(s string) bool { return localeRE.MatchString(s) }

// ValidAppVersion reports whether s looks like a desktop build version.
func ValidAppVersion(s string) bool { return appVersionRE.MatchString(s) }

// ValidPlatform reports whether s is a desktop platform.
func ValidPlatform(s string) bool { return s == "win32" || s == "darwin" || s == "linux" }

// ValidNetworkProfile reports whether s is a network profile.
func ValidNetworkProfile(s string) bool {
	return s == "good" || s == "flaky" || s == "offline-recently"
}

// hashPII keys a hash with a server secret so telemetry can correlate a
// device's requests without holding, or letting anyone brute-force back,
// the plain IP or user agent.
func hashPII(key []byte, v string) string {
	if v == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// ctxKey carries the resolved session in a request context.
type ctxKey struct{}

// WithSession stores s in ctx.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// From returns the session stored in ctx.
func From(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok
}
