package devserver

import (
	"fmt"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// StackFile is `.dev/stack.json`, a contract with scripts and tools outside this repository: what scripts and tests need to
// call the running stack. Its shape is an outward contract.
type StackFile struct {
	BaseURL               string            `json:"baseUrl"`
	ProjectID             string            `json:"projectId"`
	PubsubEmulatorHost    string            `json:"pubsubEmulatorHost"`
	FirestoreEmulatorHost string            `json:"firestoreEmulatorHost"`
	PostgresURL           string            `json:"postgresUrl"`
	RedisAddr             string            `json:"redisAddr"`
	JWKS                  JWKSInfo          `json:"jwks"`
	Tenants               []StackTenant     `json:"tenants"`
	Upstreams             map[string]string `json:"upstreams"`
	// Jobs are the scheduled functions, each run once by POST
	// {baseUrl}/_jobs/{name}.
	Jobs []string `json:"jobs"`
	// MFADevCode is the one code the fake iam-service accepts for every
	// step-up MFA challenge of the stack.
	MFADevCode string `json:"mfaDevCode"`
}

// JWKSInfo tells tools how to mint their own tokens.
type JWKSInfo struct {
	URL            string `json:"url"`
	SigningKeyFile string `json:"signingKeyFile"`
	KID            string `json:"kid"`
	Issuer         string `json:"issuer"`
	Audience       string `json:"audience"`
}

// StackTenant is a demo tenant with ready tokens.
type StackTenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// RateLimits and MFAThresholdMinor are what the fake tenant-service
	// answers for the tenant, so a tool knows how hard it may drive a
	// device before it gets 429.
	RateLimits        tenant.RateLimits `json:"rateLimits"`
	MFAThresholdMinor int64             `json:"mfaThresholdMinor"`
	Properties        []StackProperty   `json:"properties"`
	Operators         []StackOperator   `json:"operators"`
}

// StackProperty is a demo hotel.
type StackProperty struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// StackOperator is a demo operator.
type StackOperator struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Roles         []string      `json:"roles"`
	PropertyScope []string      `json:"propertyScope"`
	Devices       []StackDevice `json:"devices"`
}

// StackDevice is a demo desktop with a 12 h token.
type StackDevice struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
	Token    string `json:"token"`
}

// TokenTTL is the lifetime of the tokens written to stack.json.
const TokenTTL = 12 * time.Hour

// StackFile describes this server; the caller fills in the stack's
// addresses (emulators, Postgres URL) it alone knows.
func (s *Server) StackFile(repoRoot string) (*StackFile, error) {
	sf := &StackFile{
		BaseURL:     s.BaseURL,
		ProjectID:   s.Env["GOOGLE_CLOUD_PROJECT"],
		PostgresURL: s.Env["DATABASE_URL"],
		RedisAddr:   s.Env["REDIS_ADDR"],
		JWKS: JWKSInfo{
			URL:            s.Env["IAM_JWKS_URL"],
			SigningKeyFile: s.IAM.KeyFile("ES256"),
			KID:            s.IAM.KID("ES256"),
			Issuer:         s.IAM.Issuer(),
			Audience:       s.IAM.Audience(),
		},
		Upstreams:  s.Upstreams,
		Jobs:       slices.Clone(s.Jobs),
		MFADevCode: s.IAM.MFADevCode(),
	}
	if sf.Jobs == nil {
		sf.Jobs = []string{}
	}
	for _, t := range s.Demo.Tenants {
		cfg := t.Config()
		st := StackTenant{
			ID: t.ID, Name: t.Name, RateLimits: cfg.RateLimits, MFAThresholdMinor: cfg.MFAThresholdMinor,
			Properties: []StackProperty{}, Operators: []StackOperator{},
		}
		for _, p := range t.Properties {
			st.Properties = append(st.Properties, StackProperty{ID: p.ID, Name: p.Name})
		}
		for _, o := range t.Operators {
			so := StackOperator{ID: o.ID, Name: o.Name, Roles: o.Roles, PropertyScope: o.PropertyScope, Devices: []StackDevice{}}
			if so.PropertyScope == nil {
				so.PropertyScope = []string{}
			}
			for _, d := range o.Devices {
				tok, err := s.IAM.Mint(iam.Claims{TenantID: t.ID, OperatorID: o.ID, DeviceID: d.ID}, TokenTTL)
				if err != nil {
					return nil, fmt.Errorf("devserver: mint token for %s: %w", d.ID, err)
				}
				so.Devices = append(so.Devices, StackDevice{ID: d.ID, Platform: d.Platform, Token: tok})
			}
			st.Operators = append(st.Operators, so)
		}
		sf.Tenants = append(sf.Tenants, st)
	}
	return sf, nil
}
