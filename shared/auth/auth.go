// Package auth verifies the device-bound access tokens iam-service issues
// and turns them into a Principal.
//
// Tokens are JWTs signed with ES256 (EdDSA also accepted) and checked against
// iam-service's JWKS, which is fetched once per instance, refreshed in the
// background and on an unknown `kid` (rate limited). HMAC algorithms and
// `alg: none` are never accepted, whatever the token header says.
package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// DefaultAudience is the `aud` iam-service puts in tokens meant for this BFF.
const DefaultAudience = "melmastoon-bff-backoffice"

// Leeway is the clock skew tolerated on exp, nbf and iat: a token whose
// iat lies further ahead is refused.
const Leeway = 60 * time.Second

// MaxLifetime is the longest exp − iat accepted. Sign-out and revocation
// cutoffs are kept longer than it (shared/rediskeys.CutoffTTL), so no token
// they cut can outlive them.
const MaxLifetime = 12 * time.Hour

// maxHeaderLen bounds the work an unauthenticated caller can make us do; a
// real token is well under 2 KiB.
const maxHeaderLen = 8 << 10

// Algorithms are the only JWS algorithms accepted.
var Algorithms = []string{"ES256", "EdDSA"}

// ErrKeySetUnavailable is returned (wrapped) by a key function when the key
// set cannot be read at all; Verify then answers 503 instead of 401, because
// the token may well be valid.
var ErrKeySetUnavailable = errors.New("auth: signing key set unavailable")

// Config is the auth part of a function's configuration.
type Config struct {
	JWKSURL  string `env:"IAM_JWKS_URL, required"`
	Issuer   string `env:"IAM_ISSUER, required"`
	Audience string `env:"JWT_AUDIENCE, default=melmastoon-bff-backoffice"`
}

// Validate checks the rules env tags cannot express.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.JWKSURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("IAM_JWKS_URL: %w", err))
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		errs = append(errs, fmt.Errorf("IAM_JWKS_URL: must be an absolute http(s) URL"))
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		// Whoever can alter a plain-http JWKS response can add a key and
		// forge any token. The local and test stacks serve their fake
		// iam-service on loopback, which no deployed function can reach,
		// so the host, not a mode switch, is what admits http.
		errs = append(errs, fmt.Errorf("IAM_JWKS_URL: must be https (http only for a loopback host such as the local stack's fake iam-service)"))
	}
	if strings.TrimSpace(c.Issuer) == "" {
		errs = append(errs, fmt.Errorf("IAM_ISSUER: must not be empty"))
	}
	if strings.TrimSpace(c.Audience) == "" {
		errs = append(errs, fmt.Errorf("JWT_AUDIENCE: must not be empty"))
	}
	return errors.Join(errs...)
}

// isLoopback reports whether host names this machine: localhost or a
// loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Principal is who a verified token speaks for.
type Principal struct {
	TenantID   string
	OperatorID string
	DeviceID   string
	TokenID    string
	IssuedAt   time.Time
	ExpiresAt  time.Time
}

// Claims is the claim set of an iam-service access token.
type Claims struct {
	jwt.RegisteredClaims
	TenantID     string        `json:"tid"`
	Confirmation *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the RFC 7800 `cnf` claim; iam-service binds the token to
// the device by id.
type Confirmation struct {
	KeyID string `json:"kid"`
}

// claimError carries a client-safe description of a bad claim.
type claimError struct{ msg string }

func (e *claimError) Error() string { return e.msg }

// Validate implements jwt.ClaimsValidator: the claims golang-jwt does not
// know about, and the ones it treats as optional that iam-service promises.
func (c *Claims) Validate() error {
	switch {
	case c.IssuedAt == nil:
		return &claimError{"token has no iat"}
	case c.ExpiresAt != nil && c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxLifetime:
		return &claimError{"token lifetime exceeds 12 h"}
	case c.ID == "":
		return &claimError{"token has no jti"}
	case !ids.Valid(ids.Operator, c.Subject):
		return &claimError{"token sub must be an operator id (op_<ULID>)"}
	case !ids.Valid(ids.Tenant, c.TenantID):
		return &claimError{"token tid must be a tenant id (ten_<ULID>)"}
	case c.Confirmation == nil || c.Confirmation.KeyID == "":
		return &claimError{"token has no cnf.kid"}
	case !ids.Valid(ids.Device, c.Confirmation.KeyID):
		return &claimError{"token cnf.kid must be a device id (dev_<ULID>)"}
	}
	return nil
}

// Option tunes a Verifier built by NewVerifier.
type Option func(*options)

type options struct {
	client          *http.Client
	fetchTimeout    time.Duration
	refreshInterval time.Duration
	unknownKIDEvery time.Duration
	unknownKIDWait  time.Duration
}

// WithHTTPClient sets the client used to fetch the JWKS.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithUnknownKIDRefreshEvery sets how often, at most, an unknown kid may
// trigger a JWKS fetch (default 5 s). A request with an unknown kid waits
// for that refresh at most 2 s (wait and fetch together), then fails.
func WithUnknownKIDRefreshEvery(d time.Duration) Option {
	return func(o *options) { o.unknownKIDEvery = d }
}

// WithRefreshInterval sets the background refresh period (default 10 min).
func WithRefreshInterval(d time.Duration) Option {
	return func(o *options) { o.refreshInterval = d }
}

// Verifier checks access tokens. It is safe for concurrent use; build one
// per instance, not per request.
type Verifier struct {
	cfg     Config
	parser  *jwt.Parser
	keys    func(ctx context.Context) jwt.Keyfunc
	storage jwkset.Storage // nil with NewVerifierWithKeyfunc
	health  *fetchHealth
	cancel  context.CancelFunc
	seen    verifiedCache
	now     func() time.Time // tests move the clock
}

// fetchHealth remembers whether the latest JWKS fetch worked, so that a kid
// we cannot find is told apart from a key set we cannot read.
// Events are numbered from one counter rather than timestamped, so their
// order is exact even within one clock tick.
type fetchHealth struct {
	seq      atomic.Int64
	lastOK   atomic.Int64 // event number of the last 200 from the JWKS URL
	lastFail atomic.Int64 // event number of the last failed fetch or decode
}

func (h *fetchHealth) failing() bool { return h.lastFail.Load() > h.lastOK.Load() }

type healthTransport struct {
	next   http.RoundTripper
	health *fetchHealth
}

func (t healthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	// A decode failure after a 200 is reported to the refresh error handler,
	// which runs later and so wins.
	if err == nil && resp.StatusCode == http.StatusOK {
		t.health.lastOK.Store(t.health.seq.Add(1))
	}
	return resp, err //nolint:wrapcheck // a transport passes errors through untouched
}

// NewVerifier builds a Verifier that reads keys from cfg.JWKSURL.
//
// Start-up does not fail when the JWKS cannot be fetched: an instance that
// refuses to start because iam-service blipped gets restarted in a loop by
// Cloud Run, while one that starts answers 503 until the next fetch (any
// request with an unknown kid, at most every few seconds) succeeds. Only an
// invalid cfg is an error. The first fetch is bounded to a few seconds.
//
// ctx bounds the background refresh, so pass one that lives as long as the
// instance (not a request's); Close stops it earlier.
func NewVerifier(ctx context.Context, cfg Config, opts ...Option) (_ *Verifier, err error) {
	defer derrors.Wrap(&err, "auth.NewVerifier")
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{
		fetchTimeout:    3 * time.Second,
		refreshInterval: 10 * time.Minute,
		unknownKIDEvery: 5 * time.Second,
		unknownKIDWait:  2 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	health := &fetchHealth{}
	base := o.client
	if base == nil {
		base = &http.Client{}
	}
	tr := base.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	client := *base
	client.Transport = healthTransport{next: tr, health: health}
	if client.Timeout == 0 {
		client.Timeout = o.fetchTimeout
	}

	ctx, cancel := context.WithCancel(ctx)
	log := logging.From(ctx)
	noErrFirst := true
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    &client,
		HTTPTimeout:               o.fetchTimeout,
		NoErrorReturnFirstHTTPReq: &noErrFirst,
		RateLimitWaitMax:          o.unknownKIDWait,
		RefreshInterval:           o.refreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(o.unknownKIDEvery), 1),
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				health.lastFail.Store(health.seq.Add(1))
				log.WarnContext(ctx, "JWKS fetch failed", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("JWKS client: %w", err)
	}
	v := newVerifier(cfg, kf.KeyfuncCtx)
	v.storage = kf.Storage()
	v.health = health
	v.cancel = cancel
	return v, nil
}

// NewVerifierWithKeyfunc builds a Verifier over a caller-supplied key
// function (static keys, tests). A key function that cannot read its key set
// should return an error wrapping ErrKeySetUnavailable.
func NewVerifierWithKeyfunc(cfg Config, kf jwt.Keyfunc) (_ *Verifier, err error) {
	defer derrors.Wrap(&err, "auth.NewVerifierWithKeyfunc")
	if strings.TrimSpace(cfg.Issuer) == "" || strings.TrimSpace(cfg.Audience) == "" {
		return nil, errors.New("issuer and audience are required")
	}
	if kf == nil {
		return nil, errors.New("nil key function")
	}
	return newVerifier(cfg, func(context.Context) jwt.Keyfunc { return kf }), nil
}

func newVerifier(cfg Config, keys func(context.Context) jwt.Keyfunc) *Verifier {
	v := &Verifier{cfg: cfg, keys: keys}
	v.parser = jwt.NewParser(parserOptions(cfg, jwt.WithTimeFunc(v.clock))...)
	return v
}

// clock is the time claims are checked against; tests move it.
func (v *Verifier) clock() time.Time {
	if v.now != nil {
		return v.now()
	}
	return time.Now()
}

func parserOptions(cfg Config, extra ...jwt.ParserOption) []jwt.ParserOption {
	return append([]jwt.ParserOption{
		jwt.WithValidMethods(Algorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(Leeway),
		jwt.WithIssuedAt(),
	}, extra...)
}

// Close stops the background JWKS refresh.
func (v *Verifier) Close() {
	if v.cancel != nil {
		v.cancel()
	}
}

// errKeyLookup marks failures of the key function, as opposed to the
// parser's own "unverifiable" errors such as an unknown alg.
var errKeyLookup = errors.New("signing key lookup failed")

var errNoKID = errors.New("token header has no kid")

// Verify checks the Authorization header value of a request and returns the
// principal of its token.
//
// Errors are *apperr.Error: TokenExpired for a token that is valid but for
// its expiry; UpstreamUnavailable when the key set cannot be read;
// Unauthenticated for everything else, including a token whose lifetime
// exceeds MaxLifetime or whose iat lies more than Leeway ahead. Details
// never contain the token.
func (v *Verifier) Verify(ctx context.Context, authorization string) (Principal, error) {
	raw, err := bearer(authorization)
	if err != nil {
		return Principal{}, err
	}
	key := sha256.Sum256([]byte(raw))
	now := v.clock()
	if p, ok := v.seen.get(key, now); ok {
		return p, nil
	}
	lookup := v.keys(ctx)
	var claims Claims
	tok, err := v.parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		// Without a kid keyfunc would try every key; iam-service always
		// sets one, so its absence is a forgery or a foreign token.
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, fmt.Errorf("%w: %w", errKeyLookup, errNoKID)
		}
		k, err := lookup(t)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errKeyLookup, err)
		}
		return k, nil
	})
	if err != nil {
		return Principal{}, v.classify(err, tok, &claims)
	}
	p := Principal{
		TenantID:   claims.TenantID,
		OperatorID: claims.Subject,
		DeviceID:   claims.Confirmation.KeyID,
		TokenID:    claims.ID,
		IssuedAt:   claims.IssuedAt.Time,
		ExpiresAt:  claims.ExpiresAt.Time,
	}
	v.seen.put(key, p, now)
	return p, nil
}

func bearer(h string) (string, error) {
	if h == "" {
		return "", apperr.New(apperr.Unauthenticated, "Authorization header is missing")
	}
	if len(h) > maxHeaderLen {
		return "", apperr.New(apperr.Unauthenticated, "Authorization header is too long")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", apperr.New(apperr.Unauthenticated, "Authorization must use the Bearer scheme")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", apperr.New(apperr.Unauthenticated, "Bearer token is empty")
	}
	return tok, nil
}

func unauth(cause error, detail string) *apperr.Error {
	return apperr.Wrap(apperr.Unauthenticated, cause, "%s", detail)
}

// classify turns a parse error into the client-facing error. The cause is
// kept for logs; golang-jwt's messages never include the token itself.
func (v *Verifier) classify(err error, tok *jwt.Token, claims *Claims) error {
	var ce *claimError
	switch {
	case errors.Is(err, errNoKID):
		return unauth(err, "token header has no kid")
	case errors.Is(err, errKeyLookup):
		if v.keySetUnavailable(err) {
			return apperr.Unavailable(err, "identity provider")
		}
		return unauth(err, "token signing key is not known")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauth(err, "token is malformed")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// Unknown or missing alg, reported before any key is looked up.
		return unauth(err, "token algorithm is not accepted")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if tok == nil || tok.Method == nil || !slices.Contains(Algorithms, tok.Method.Alg()) || errors.Is(err, jwt.ErrInvalidKeyType) {
			return unauth(err, "token algorithm is not accepted")
		}
		return unauth(err, "token signature is invalid")
	case errors.Is(err, jwt.ErrTokenExpired) && v.validButForExpiry(claims):
		return apperr.Wrap(apperr.TokenExpired, err, "token has expired")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case claims.ExpiresAt == nil:
			return unauth(err, "token has no exp")
		case len(claims.Audience) == 0:
			return unauth(err, "token has no aud")
		case claims.Issuer == "":
			return unauth(err, "token has no iss")
		}
		return unauth(err, "token lacks a required claim")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return unauth(err, "token issuer is not accepted")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauth(err, "token audience is not accepted")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauth(err, "token is not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauth(err, "token is issued in the future")
	case errors.As(err, &ce):
		return unauth(err, ce.msg)
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauth(err, "token has expired")
	default:
		return unauth(err, "token is not valid")
	}
}

// validButForExpiry re-runs claim validation as of just before exp, so
// TOKEN_EXPIRED (which tells the client to refresh and retry) is only given
// for a token a refresh would fix, not for a foreign one that also expired.
func (v *Verifier) validButForExpiry(c *Claims) bool {
	if c.ExpiresAt == nil {
		return false
	}
	at := c.ExpiresAt.Add(-time.Second)
	val := jwt.NewValidator(parserOptions(v.cfg, jwt.WithTimeFunc(func() time.Time { return at }))...)
	return val.Validate(c) == nil
}

// keySetUnavailable tells "kid not in a healthy key set" (401) from "we
// could not get the key set" (503).
func (v *Verifier) keySetUnavailable(err error) bool {
	if errors.Is(err, ErrKeySetUnavailable) {
		return true
	}
	if v.storage == nil || v.health == nil {
		return false
	}
	if v.health.failing() {
		return true
	}
	// An empty set means we have never loaded one (or iam-service serves
	// none); no token can be verified, which is an outage, not a bad token.
	keys, rerr := v.storage.KeyReadAll(context.Background())
	return rerr != nil || len(keys) == 0
}
