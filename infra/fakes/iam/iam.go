// Package iam is a fake of iam-service's token surface: the JWKS the BFF
// verifies against and a way to mint the device-bound access tokens it
// issues.
//
//	GET  /.well-known/jwks.json → {"keys": [...]} (ES256 P-256 and Ed25519, each with a kid)
//	POST /v1/tokens {tenantId, operatorId, deviceId, ttlSeconds} → {token}
//	POST /v1/mfa/challenges, POST /v1/mfa/challenges/{id}/verify (mfa.go)
//
// The dev keys live in testdata/keys (PEM, dev-only). Tests mint broken
// tokens (expired, wrong audience, unknown kid, …) through the Go API.
package iam

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// Defaults of the dev stack.
const (
	DefaultIssuer   = "https://iam.melmastoon.local"
	DefaultAudience = "melmastoon-bff-backoffice"
	JWKSPath        = "/.well-known/jwks.json"
	DefaultTTL      = 12 * time.Hour
)

// Algorithms the fake signs with.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Key files under the keys directory.
const (
	ES256KeyFile = "iam-dev-es256.pem"
	EdDSAKeyFile = "iam-dev-ed25519.pem"
)

// DefaultKeysDir is the keys directory relative to the repository root.
const DefaultKeysDir = "testdata/keys"

// Config of the fake.
type Config struct {
	Issuer   string // DefaultIssuer when empty
	Audience string // DefaultAudience when empty
	// KeysDir holds ES256KeyFile and EdDSAKeyFile. Empty generates fresh
	// in-memory keys, for tests that never need the files.
	KeysDir string
	// MFADevCode is the one code every MFA challenge accepts;
	// DefaultMFADevCode when empty.
	MFADevCode string
	// Options tune the fake wrapper (latency).
	Options []fakes.Option
}

type key struct {
	kid       string
	alg       string
	signer    crypto.Signer
	file      string
	published bool
}

// IAM is the fake. Safe for concurrent use.
type IAM struct {
	issuer, audience string
	fake             *fakes.Fake

	mu       sync.RWMutex
	keys     []*key // publication order
	defaults map[string]string

	mfaCode     string
	mfaMu       sync.Mutex
	mfa         map[string]*mfaChallenge
	mfaVerified int
}

// New builds the fake, loading its keys.
func New(cfg Config) (*IAM, error) {
	s := &IAM{issuer: cfg.Issuer, audience: cfg.Audience, defaults: map[string]string{}, mfaCode: cfg.MFADevCode, mfa: map[string]*mfaChallenge{}}
	if s.mfaCode == "" {
		s.mfaCode = DefaultMFADevCode
	}
	if s.issuer == "" {
		s.issuer = DefaultIssuer
	}
	if s.audience == "" {
		s.audience = DefaultAudience
	}
	for _, alg := range []string{ES256, EdDSA} {
		var (
			k   *key
			err error
		)
		if cfg.KeysDir == "" {
			k, err = generate(alg)
		} else {
			k, err = load(alg, cfg.KeysDir)
		}
		if err != nil {
			return nil, fmt.Errorf("iam.New: %w", err)
		}
		k.published = true
		s.keys = append(s.keys, k)
		s.defaults[alg] = k.kid
	}
	mux := http.NewServeMux()
	mux.HandleFunc(JWKSPath, s.serveJWKS)
	mux.HandleFunc("/v1/tokens", s.serveTokens)
	mux.HandleFunc("POST /v1/mfa/challenges", s.serveChallenge)
	mux.HandleFunc("POST /v1/mfa/challenges/{id}/verify", s.serveVerify)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fakes.WriteProblem(w, http.StatusNotFound, "MELMASTOON.IAM.NOT_FOUND", "no route for "+r.Method+" "+r.URL.Path)
	})
	s.fake = fakes.New("iam-service", mux, cfg.Options...)
	return s, nil
}

// NewDev builds the fake with the committed dev keys of the checkout.
func NewDev(opts ...fakes.Option) (*IAM, error) {
	dir, err := repo.Path(DefaultKeysDir)
	if err != nil {
		return nil, fmt.Errorf("iam.NewDev: %w", err)
	}
	return New(Config{KeysDir: dir, Options: opts})
}

// Handler is the fake's HTTP handler (with stats and faults).
func (s *IAM) Handler() http.Handler { return s.fake }

// Fake is the wrapper, for stats and faults from Go.
func (s *IAM) Fake() *fakes.Fake { return s.fake }

// Issuer is the iss the fake puts in tokens.
func (s *IAM) Issuer() string { return s.issuer }

// Audience is the aud the fake puts in tokens by default.
func (s *IAM) Audience() string { return s.audience }

// KID is the kid of the default key for alg ("ES256" or "EdDSA").
func (s *IAM) KID(alg string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.defaults[alg]
}

// KeyFile is the PEM file the default key for alg was loaded from ("" for
// generated keys).
func (s *IAM) KeyFile(alg string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k := s.find(s.defaults[alg]); k != nil {
		return k.file
	}
	return ""
}

// PublicKey returns the public key of kid.
func (s *IAM) PublicKey(kid string) (crypto.PublicKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.find(kid)
	if k == nil {
		return nil, fmt.Errorf("iam: no key %q", kid)
	}
	return k.signer.Public(), nil
}

func (s *IAM) find(kid string) *key {
	for _, k := range s.keys {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

// AddKey creates a fresh key for alg. Published, it appears in the JWKS at
// once (a rotation); unpublished, tokens signed with it carry a kid no
// verifier can find. It does not change the default key of alg.
func (s *IAM) AddKey(alg string, publish bool) (string, error) {
	k, err := generate(alg)
	if err != nil {
		return "", fmt.Errorf("iam.AddKey: %w", err)
	}
	k.published = publish
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
	return k.kid, nil
}

// Publish adds (true) or withdraws (false) kid from the JWKS.
func (s *IAM) Publish(kid string, publish bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.find(kid)
	if k == nil {
		return fmt.Errorf("iam.Publish: no key %q", kid)
	}
	k.published = publish
	return nil
}

// Claims describe a token to mint. Zero fields get the fake's defaults.
type Claims struct {
	TenantID   string
	OperatorID string
	DeviceID   string
	Issuer     string    // default: the fake's issuer
	Audience   string    // default: the fake's audience
	IssuedAt   time.Time // default: now; set it in the past to mint expired tokens
	ID         string    // jti; default: random
}

// StandardClaims returns the claim set iam-service would issue for c, as a
// map tests can edit (delete "exp", replace "cnf", …) before MintWith.
func (s *IAM) StandardClaims(c Claims, ttl time.Duration) jwt.MapClaims {
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	iss, aud, jti := c.Issuer, c.Audience, c.ID
	if iss == "" {
		iss = s.issuer
	}
	if aud == "" {
		aud = s.audience
	}
	if jti == "" {
		jti = randomID()
	}
	return jwt.MapClaims{
		"iss": iss,
		"sub": c.OperatorID,
		"aud": aud,
		"tid": c.TenantID,
		"cnf": map[string]any{"kid": c.DeviceID},
		"iat": iat.Unix(),
		"exp": iat.Add(ttl).Unix(),
		"jti": jti,
	}
}

// Mint signs a token for c, valid ttl from its issue time, with the default
// ES256 key — what iam-service hands a desktop device.
func (s *IAM) Mint(c Claims, ttl time.Duration) (string, error) {
	return s.MintWith(ES256, "", s.StandardClaims(c, ttl))
}

// MintWith signs claims with alg and the key kid ("" for alg's default key).
func (s *IAM) MintWith(alg, kid string, claims jwt.Claims) (string, error) {
	s.mu.RLock()
	if kid == "" {
		kid = s.defaults[alg]
	}
	k := s.find(kid)
	s.mu.RUnlock()
	if k == nil {
		return "", fmt.Errorf("iam.MintWith: no key %q", kid)
	}
	if k.alg != alg {
		return "", fmt.Errorf("iam.MintWith: key %s is for %s, not %s", kid, k.alg, alg)
	}
	t := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	t.Header["kid"] = kid
	signed, err := t.SignedString(k.signer)
	if err != nil {
		return "", fmt.Errorf("iam.MintWith: %w", err)
	}
	return signed, nil
}

// JWK is one public key of the JWKS.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the published public keys.
func (s *IAM) JWKS() []JWK {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []JWK{}
	for _, k := range s.keys {
		if k.published {
			j := publicJWK(k.signer.Public())
			j.Kid, j.Alg, j.Use = k.kid, k.alg, "sig"
			out = append(out, j)
		}
	}
	return out
}

func (s *IAM) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fakes.WriteProblem(w, http.StatusMethodNotAllowed, "MELMASTOON.IAM.METHOD_NOT_ALLOWED", "use GET")
		return
	}
	// Short, like a real IdP that rotates keys: caches must come back.
	w.Header().Set("Cache-Control", "public, max-age=300")
	fakes.WriteJSON(w, http.StatusOK, map[string]any{"keys": s.JWKS()})
}

type tokenRequest struct {
	TenantID   string `json:"tenantId"`
	OperatorID string `json:"operatorId"`
	DeviceID   string `json:"deviceId"`
	TTLSeconds int64  `json:"ttlSeconds"`
	// Optional, for dev tools that need broken tokens without the key file.
	Audience string        `json:"audience,omitempty"`
	IssuedAt jsontime.Time `json:"issuedAt,omitzero"`
	Alg      string        `json:"alg,omitempty"`
}

const maxTTL = 30 * 24 * time.Hour

func (s *IAM) serveTokens(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		fakes.WriteProblem(w, http.StatusMethodNotAllowed, "MELMASTOON.IAM.METHOD_NOT_ALLOWED", "use POST")
		return
	}
	var req tokenRequest
	if err := fakes.DecodeJSON(r, &req); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION_FAILED", err.Error())
		return
	}
	var errs []error
	for _, c := range []struct {
		field string
		p     ids.Prefix
		v     string
	}{{"tenantId", ids.Tenant, req.TenantID}, {"operatorId", ids.Operator, req.OperatorID}, {"deviceId", ids.Device, req.DeviceID}} {
		if err := ids.Check(c.p, c.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.field, err))
		}
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if req.TTLSeconds == 0 {
		ttl = DefaultTTL
	}
	if ttl <= 0 || ttl > maxTTL {
		errs = append(errs, fmt.Errorf("ttlSeconds: must be between 1 and %d", int64(maxTTL.Seconds())))
	}
	alg := req.Alg
	if alg == "" {
		alg = ES256
	}
	if !slices.Contains([]string{ES256, EdDSA}, alg) {
		errs = append(errs, errors.New("alg: must be ES256 or EdDSA"))
	}
	if err := errors.Join(errs...); err != nil {
		fakes.WriteProblem(w, http.StatusBadRequest, "MELMASTOON.IAM.VALIDATION_FAILED", err.Error())
		return
	}
	claims := s.StandardClaims(Claims{
		TenantID: req.TenantID, OperatorID: req.OperatorID, DeviceID: req.DeviceID,
		Audience: req.Audience, IssuedAt: req.IssuedAt.Time,
	}, ttl)
	tok, err := s.MintWith(alg, "", claims)
	if err != nil {
		fakes.WriteProblem(w, http.StatusInternalServerError, "MELMASTOON.IAM.INTERNAL", err.Error())
		return
	}
	fakes.WriteJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func generate(alg string) (*key, error) {
	var (
		signer crypto.Signer
		err    error
	)
	switch alg {
	case ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("unsupported alg %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return &key{kid: thumbprint(signer.Public()), alg: alg, signer: signer}, nil
}

func load(alg, dir string) (*key, error) {
	name := ES256KeyFile
	if alg == EdDSA {
		name = EdDSAKeyFile
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s key: %w", alg, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PKCS#8 PEM private key", path)
	}
	pk, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var signer crypto.Signer
	switch k := pk.(type) {
	case *ecdsa.PrivateKey:
		if alg != ES256 || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s: want a P-256 key for ES256", path)
		}
		signer = k
	case ed25519.PrivateKey:
		if alg != EdDSA {
			return nil, fmt.Errorf("%s: Ed25519 key where %s was expected", path, alg)
		}
		signer = k
	default:
		return nil, fmt.Errorf("%s: unsupported key type %T", path, pk)
	}
	return &key{kid: thumbprint(signer.Public()), alg: alg, signer: signer, file: path}, nil
}

func publicJWK(pub crypto.PublicKey) JWK {
	b64 := base64.RawURLEncoding.EncodeToString
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		e, err := p.ECDH()
		if err != nil { // only for keys off the curve, which we never make
			return JWK{}
		}
		pt := e.Bytes() // 0x04 || X || Y, each 32 bytes for P-256
		return JWK{Kty: "EC", Crv: "P-256", X: b64(pt[1:33]), Y: b64(pt[33:])}
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64(p)}
	}
	return JWK{}
}

// thumbprint is the RFC 7638 JWK thumbprint, used as kid: replacing a key
// file can never reuse a kid for different key material.
func thumbprint(pub crypto.PublicKey) string {
	j := publicJWK(pub)
	var canon []byte
	if j.Kty == "EC" {
		canon, _ = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y})
	} else {
		canon, _ = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Crv, j.Kty, j.X})
	}
	sum := sha256.Sum256(canon)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
