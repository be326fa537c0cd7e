// Package demo loads the demo hotel group (testdata/demo.json) that seeds
// the fakes in dev and tests. Its ids are fixed so docs and curl lines stay
// valid from one run to the next.
package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
	_ "time/tzdata" // timezones are validated even where the OS has no zoneinfo

	"github.com/melmastoon/bff-backoffice/infra/internal/repo"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// DefaultFile is the dataset's path relative to the repository root.
const DefaultFile = "testdata/demo.json"

// Dataset is the whole demo world.
type Dataset struct {
	Tenants []Tenant `json:"tenants"`
}

// Tenant is a hotel group.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// RateLimits and MFAThresholdMinor are the tenant's config in
	// tenant-service; absent means tenant-service's defaults (Config).
	RateLimits        *tenant.RateLimits `json:"rateLimits,omitempty"`
	MFAThresholdMinor *int64             `json:"mfaThresholdMinor,omitempty"`
	Properties        []Property         `json:"properties"`
	Operators         []Operator         `json:"operators"`
}

// Config is the tenant's config as tenant-service answers it: the
// dataset's values, the defaults where it has none.
func (t *Tenant) Config() tenant.TenantConfig {
	c := tenant.TenantConfig{RateLimits: tenant.DefaultRateLimits, MFAThresholdMinor: tenant.DefaultMFAThresholdMinor}
	if t.RateLimits != nil {
		c.RateLimits = *t.RateLimits
	}
	if t.MFAThresholdMinor != nil {
		c.MFAThresholdMinor = *t.MFAThresholdMinor
	}
	return c
}

// Property is one hotel.
type Property struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// Operator is a member of staff with their access and desktop devices.
type Operator struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Roles             []string `json:"roles"`
	PropertyScope     []string `json:"propertyScope"`
	PrimaryPropertyID string   `json:"primaryPropertyId,omitempty"`
	Devices           []Device `json:"devices"`
}

// Device is a registered desktop install.
type Device struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
}

// Load reads and validates the dataset at path.
func Load(path string) (*Dataset, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("demo.Load: %w", err)
	}
	ds, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("demo.Load %s: %w", path, err)
	}
	return ds, nil
}

// LoadDefault loads DefaultFile from the repository checkout.
func LoadDefault() (*Dataset, error) {
	p, err := repo.Path(DefaultFile)
	if err != nil {
		return nil, fmt.Errorf("demo.LoadDefault: %w", err)
	}
	return Load(p)
}

// Parse decodes and validates a dataset; unknown fields are errors so a typo
// in the file is not silently ignored.
func Parse(b []byte) (*Dataset, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ds Dataset
	if err := dec.Decode(&ds); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	return &ds, nil
}

var platforms = []string{"win32", "darwin", "linux"}

// Validate checks ids, references and uniqueness across the whole dataset.
func (d *Dataset) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	unique := func(id string) {
		if seen[id] {
			bad("id %s is used twice", id)
		}
		seen[id] = true
	}
	if len(d.Tenants) == 0 {
		bad("no tenants")
	}
	for _, t := range d.Tenants {
		if !ids.Valid(ids.Tenant, t.ID) {
			bad("tenant %q: malformed id", t.ID)
		}
		unique(t.ID)
		if t.Name == "" {
			bad("tenant %s: no name", t.ID)
		}
		if rl := t.RateLimits; rl != nil && (rl.DevicePerSecond <= 0 || rl.DeviceBurst < 1 || rl.TenantPerSecond <= 0) {
			bad("tenant %s: rate limits must be positive: %+v", t.ID, *rl)
		}
		if t.MFAThresholdMinor != nil && *t.MFAThresholdMinor < 0 {
			bad("tenant %s: mfaThresholdMinor is negative", t.ID)
		}
		props := map[string]bool{}
		for _, p := range t.Properties {
			if !ids.Valid(ids.Property, p.ID) {
				bad("tenant %s: property %q: malformed id", t.ID, p.ID)
			}
			unique(p.ID)
			props[p.ID] = true
			if p.Name == "" {
				bad("property %s: no name", p.ID)
			}
			if _, err := time.LoadLocation(p.Timezone); err != nil || p.Timezone == "" || p.Timezone == "Local" {
				bad("property %s: timezone %q is not an IANA zone", p.ID, p.Timezone)
			}
		}
		for _, o := range t.Operators {
			if !ids.Valid(ids.Operator, o.ID) {
				bad("tenant %s: operator %q: malformed id", t.ID, o.ID)
			}
			unique(o.ID)
			if o.Name == "" {
				bad("operator %s: no name", o.ID)
			}
			if len(o.Roles) == 0 {
				bad("operator %s: no roles", o.ID)
			}
			for _, r := range o.Roles {
				if !tenant.ValidRole(r) {
					bad("operator %s: unknown role %q", o.ID, r)
				}
			}
			if o.PropertyScope == nil {
				bad("operator %s: propertyScope must be present (may be empty)", o.ID)
			}
			for _, p := range o.PropertyScope {
				if !props[p] {
					bad("operator %s: property %s is not a property of tenant %s", o.ID, p, t.ID)
				}
			}
			if o.PrimaryPropertyID != "" && !slices.Contains(o.PropertyScope, o.PrimaryPropertyID) {
				bad("operator %s: primaryPropertyId is not in its scope", o.ID)
			}
			if len(o.Devices) == 0 {
				bad("operator %s: no devices", o.ID)
			}
			for _, dv := range o.Devices {
				if !ids.Valid(ids.Device, dv.ID) {
					bad("operator %s: device %q: malformed id", o.ID, dv.ID)
				}
				unique(dv.ID)
				if !slices.Contains(platforms, dv.Platform) {
					bad("device %s: platform %q is not one of %v", dv.ID, dv.Platform, platforms)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Tenant returns the tenant with id.
func (d *Dataset) Tenant(id string) (*Tenant, bool) {
	for i := range d.Tenants {
		if d.Tenants[i].ID == id {
			return &d.Tenants[i], true
		}
	}
	return nil, false
}

// Operator returns the operator with id.
func (t *Tenant) Operator(id string) (*Operator, bool) {
	for i := range t.Operators {
		if t.Operators[i].ID == id {
			return &t.Operators[i], true
		}
	}
	return nil, false
}

// Property returns the property with id.
func (t *Tenant) Property(id string) (*Property, bool) {
	for i := range t.Properties {
		if t.Properties[i].ID == id {
			return &t.Properties[i], true
		}
	}
	return nil, false
}
