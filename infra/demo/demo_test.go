package demo_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

// The dev stack, .dev/stack.json and the docs rely on what the dataset
// covers: two tenants, every role, an operator without scope.
func TestDefaultDatasetCoversTheSpec(t *testing.T) {
	t.Parallel()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Tenants) < 2 {
		t.Fatalf("%d tenants, want at least 2", len(ds.Tenants))
	}
	twoProps, emptyScope, primaryAbsent := false, false, false
	roles := map[string]bool{}
	for _, tn := range ds.Tenants {
		twoProps = twoProps || len(tn.Properties) >= 2
		for _, o := range tn.Operators {
			emptyScope = emptyScope || len(o.PropertyScope) == 0
			primaryAbsent = primaryAbsent || (len(o.PropertyScope) > 0 && o.PrimaryPropertyID == "")
			for _, r := range o.Roles {
				roles[r] = true
			}
			if len(o.Devices) < 1 || len(o.Devices) > 2 {
				t.Errorf("operator %s has %d devices, want 1–2", o.ID, len(o.Devices))
			}
		}
	}
	if !twoProps {
		t.Error("no tenant with two properties")
	}
	if !emptyScope {
		t.Error("no operator with an empty property scope")
	}
	if !primaryAbsent {
		t.Error("no operator without a primary property")
	}
	for _, r := range tenant.Roles() {
		if !roles[r] {
			t.Errorf("no operator with role %s", r)
		}
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	tn, ok := ds.Tenant(ds.Tenants[1].ID)
	if !ok || tn.ID != ds.Tenants[1].ID {
		t.Fatal("Tenant lookup failed")
	}
	op := tn.Operators[0]
	if got, ok := tn.Operator(op.ID); !ok || got.Name != op.Name {
		t.Fatal("Operator lookup failed")
	}
	if _, ok := tn.Operator(ds.Tenants[0].Operators[0].ID); ok {
		t.Fatal("found another tenant's operator")
	}
	if _, ok := ds.Tenant("ten_01JN8EY4M00000000000000000"); ok {
		t.Fatal("found an unknown tenant")
	}
}

// The first tenant is the one dev tools and benchmarks drive hard from one
// device; the second shows the defaults a tenant without config gets.
func TestDemoRateLimits(t *testing.T) {
	t.Parallel()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	first, second := ds.Tenants[0].Config(), ds.Tenants[1].Config()
	if rl := first.RateLimits; rl.DeviceBurst < 2000 || rl.DevicePerSecond < 2000 || rl.TenantPerSecond < rl.DevicePerSecond {
		t.Errorf("first tenant's limits %+v: want a device burst and rate of at least 2,000 within the tenant's", rl)
	}
	want := tenant.TenantConfig{RateLimits: tenant.RateLimits{DevicePerSecond: 20, DeviceBurst: 60, TenantPerSecond: 1000}, MFAThresholdMinor: 50000}
	if second != want {
		t.Errorf("second tenant's config = %+v, want the defaults %+v", second, want)
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	const (
		ten = "ten_01JN8EY4M01KXGKC1R2R3B3S4D"
		prp = "prp_01JN8EY4M1T3CTX8Y940X5AXV1"
		op  = "op_01JN8EY4M5JWPHVVBH0FAAR6M4"
		dev = "dev_01JN8EY4MG3DJRZGATQ0XVMKPN"
	)
	valid := func() string {
		return `{"tenants":[{"id":"` + ten + `","name":"T","properties":[{"id":"` + prp + `","name":"P","timezone":"Europe/Lisbon"}],` +
			`"operators":[{"id":"` + op + `","name":"O","roles":["manager"],"propertyScope":["` + prp + `"],"primaryPropertyId":"` + prp + `",` +
			`"devices":[{"id":"` + dev + `","platform":"win32"}]}]}]}`
	}
	if _, err := demo.Parse([]byte(valid())); err != nil {
		t.Fatalf("baseline is invalid: %v", err)
	}
	cases := []struct{ name, from, to, wantErr string }{
		{"bad tenant id", ten, "ten_nope", "malformed id"},
		{"bad property id", `"id":"` + prp, `"id":"prp_x`, "malformed id"},
		{"unknown role", `"manager"`, `"concierge"`, "unknown role"},
		{"scope outside tenant", `"propertyScope":["` + prp, `"propertyScope":["prp_01JN8EY4M2GM7XQXZCQK21DJ16`, "not a property of tenant"},
		{"primary outside scope", `"primaryPropertyId":"` + prp, `"primaryPropertyId":"prp_01JN8EY4M2GM7XQXZCQK21DJ16`, "not in its scope"},
		{"bad platform", "win32", "amiga", "platform"},
		{"bad timezone", "Europe/Lisbon", "Europe/Atlantis", "timezone"},
		{"duplicate id", dev, op, "used twice"},
		{"unknown field", `"name":"O"`, `"name":"O","email":"x"`, "unknown field"},
		{"missing scope", `"propertyScope":["` + prp + `"],`, ``, "propertyScope must be present"},
		{"zero burst", `"name":"T",`, `"name":"T","rateLimits":{"devicePerSecond":1,"deviceBurst":0,"tenantPerSecond":1},`, "rate limits must be positive"},
		{"negative mfa threshold", `"name":"T",`, `"name":"T","mfaThresholdMinor":-1,`, "mfaThresholdMinor is negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := strings.Replace(valid(), tc.from, tc.to, 1)
			if tc.name == "missing scope" {
				in = strings.Replace(in, `,"primaryPropertyId":"`+prp+`"`, "", 1)
			}
			_, err := demo.Parse([]byte(in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestIDsAreStable(t *testing.T) {
	t.Parallel()
	// Docs and curl lines quote these; changing them is a breaking change.
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tn := range ds.Tenants {
		got = append(got, tn.ID)
	}
	want := []string{"ten_01JN8EY4M01KXGKC1R2R3B3S4D", "ten_01JN8EY4M35YYDY8WG8WHAJTYR"}
	if !slices.Equal(got, want) {
		t.Fatalf("tenant ids = %v, want %v", got, want)
	}
}
