// Package authtest stands in for iam-service in tests that run the real
// token verifier: it signs ES256 access tokens with a key of its own, under
// kid k1, and builds a Verifier that trusts that key and no other.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// IssuerURL is the iss of the tokens an Issuer signs.
const IssuerURL = "https://iam.test"

// Issuer signs access tokens as iam-service would.
type Issuer struct {
	key *ecdsa.PrivateKey
}

// New returns an Issuer with a fresh P-256 key.
func New(t testing.TB) *Issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{key: key}
}

// Verifier returns a verifier of the issuer's tokens (the default audience)
// that knows only kid k1.
func (is *Issuer) Verifier(t testing.TB) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifierWithKeyfunc(auth.Config{Issuer: IssuerURL, Audience: auth.DefaultAudience}, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != "k1" {
			return nil, errors.New("unknown kid")
		}
		return &is.key.PublicKey, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Token returns the Authorization header of a token for operatorID of
// tenantID bound to deviceID, issued now for an hour, with a token id of
// its own.
func (is *Issuer) Token(t testing.TB, tenantID, operatorID, deviceID string) string {
	t.Helper()
	now := time.Now()
	tk := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": IssuerURL, "aud": auth.DefaultAudience, "sub": operatorID, "tid": tenantID,
		"cnf": map[string]string{"kid": deviceID}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": ids.New(ids.Session),
	})
	tk.Header["kid"] = "k1"
	s, err := tk.SignedString(is.key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}
