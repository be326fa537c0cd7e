// Package iam is the client of iam-service's step-up MFA surface:
//
//	POST /v1/mfa/challenges {tenantId, operatorId, deviceId, scope, factor} → 201 {challengeId, scope, factor, expiresAt}
//	POST /v1/mfa/challenges/{id}/verify {tenantId, operatorId, deviceId, code} → 200 {attestationToken, factor, verifiedAt}
//
// Verify's refusals are told apart by the errors below, so the caller can
// answer with its own codes: ErrWrongCode (422), ErrChallengeGone (410: used,
// expired or out of attempts; 404: unknown to iam-service). Other errors
// are httpc's: UPSTREAM_UNAVAILABLE for outages, INTERNAL otherwise.
//
// The attestation token is opaque and secret: Token never prints it.
package iam

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

// Config is the iam-service part of a function's configuration.
type Config = upstream.IAMConfig

// Verify's refusals.
var (
	ErrWrongCode     = errors.New("iam: wrong MFA code")
	ErrChallengeGone = errors.New("iam: MFA challenge unknown, used, expired or out of attempts")
)

const (
	maxChallengeID = 128
	maxToken       = 4096
)

// Token is iam-service's opaque attestation token. It never appears in
// logs, errors or JSON: every printing of it is redacted.
type Token string

// String redacts the token.
func (Token) String() string { return "[redacted]" }

// GoString redacts the token under %#v.
func (Token) GoString() string { return `"[redacted]"` }

// LogValue redacts the token in structured logs.
func (Token) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalJSON redacts the token, should it ever be encoded.
func (Token) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Reveal is the token itself, for the one place that stores it.
func (t Token) Reveal() string { return string(t) }

// Subject is who a challenge is for.
type Subject struct {
	TenantID   string `json:"tenantId"`
	OperatorID string `json:"operatorId"`
	DeviceID   string `json:"deviceId"`
}

// Challenge is an open challenge.
type Challenge struct {
	ChallengeID string        `json:"challengeId"`
	Scope       string        `json:"scope"`
	Factor      string        `json:"factor"`
	ExpiresAt   jsontime.Time `json:"expiresAt"`
}

// Verified is a completed challenge.
type Verified struct {
	Token      Token
	Factor     string
	VerifiedAt time.Time
}

// Client calls iam-service. Safe for concurrent use.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.IAM, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// CreateChallenge asks iam-service to challenge sub for scope with factor.
func (c *Client) CreateChallenge(ctx context.Context, sub Subject, scope, factor string) (Challenge, error) {
	const op = "iam.CreateChallenge"
	var out Challenge
	body := struct {
		Subject
		Scope  string `json:"scope"`
		Factor string `json:"factor"`
	}{sub, scope, factor}
	if err := c.http.SendJSON(ctx, op, http.MethodPost, []string{"v1", "mfa", "challenges"}, body, &out); err != nil {
		return Challenge{}, err
	}
	switch {
	case !ValidChallengeID(out.ChallengeID):
		return Challenge{}, c.http.Unavailable(op, "malformed challengeId")
	case out.Scope != scope || out.Factor != factor:
		return Challenge{}, c.http.Unavailable(op, "challenge for another scope or factor")
	case out.ExpiresAt.IsZero():
		return Challenge{}, c.http.Unavailable(op, "no expiresAt")
	}
	return out, nil
}

// Verify presents code for challenge id on behalf of sub.
func (c *Client) Verify(ctx context.Context, sub Subject, id, code string) (Verified, error) {
	const op = "iam.Verify"
	var out struct {
		AttestationToken string        `json:"attestationToken"`
		Factor           string        `json:"factor"`
		VerifiedAt       jsontime.Time `json:"verifiedAt"`
	}
	body := struct {
		Subject
		Code string `json:"code"`
	}{sub, code}
	err := c.http.SendJSON(ctx, op, http.MethodPost, []string{"v1", "mfa", "challenges", id, "verify"}, body, &out)
	status, _, refused := httpc.Refused(err)
	switch {
	case errors.Is(err, httpc.ErrNotFound):
		return Verified{}, ErrChallengeGone
	case refused && status == http.StatusUnprocessableEntity:
		return Verified{}, ErrWrongCode
	case refused && status == http.StatusGone:
		return Verified{}, ErrChallengeGone
	case err != nil:
		return Verified{}, err
	case out.AttestationToken == "" || len(out.AttestationToken) > maxToken:
		return Verified{}, c.http.Unavailable(op, "malformed attestation token")
	}
	return Verified{Token: Token(out.AttestationToken), Factor: out.Factor, VerifiedAt: out.VerifiedAt.Time}, nil
}

// ValidChallengeID reports whether id can be a challenge id (1–128
// letters, digits, '_' and '-'): what is checked before an id, from a
// request or from iam-service, reaches a URL path or a Redis key.
func ValidChallengeID(id string) bool {
	if id == "" || len(id) > maxChallengeID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
