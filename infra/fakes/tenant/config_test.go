package tenant_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/infra/fakes"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/tenant"
)

func TestConfigEndpoint(t *testing.T) {
	t.Parallel()
	f, srv, ds := newFake(t)
	harbour, casa := ds.Tenants[0], ds.Tenants[1]
	url := func(tid string) string { return srv.URL + "/v1/tenants/" + tid + "/config" }

	code, ctype, body := getJSON(t, url(casa.ID))
	rl, _ := body["rateLimits"].(map[string]any)
	if code != 200 || ctype != "application/json" || body["tenantId"] != casa.ID || body["mfaThresholdMinor"] != 50000.0 ||
		rl["devicePerSecond"] != 20.0 || rl["deviceBurst"] != 60.0 || rl["tenantPerSecond"] != 1000.0 {
		t.Fatalf("second tenant: %d %s %v, want the defaults", code, ctype, body)
	}
	_, _, body = getJSON(t, url(harbour.ID))
	if rl, _ := body["rateLimits"].(map[string]any); rl["deviceBurst"].(float64) < 2000 {
		t.Errorf("first tenant: %v, want a device burst of at least 2,000", body)
	}
	if code, _, body := getJSON(t, url(ids.New(ids.Tenant))); code != 404 || body["code"] != "MELMASTOON.TENANT.TENANT_NOT_FOUND" {
		t.Errorf("unknown tenant: %d %v", code, body)
	}
	if code, _, _ := getJSON(t, url("ten_nope")); code != 400 {
		t.Errorf("malformed tenant id: %d, want 400", code)
	}
	// The fake's own routes see it like any other.
	if n := f.Fake().Stats()["GET /v1/tenants/"+casa.ID+"/config"]; n != 1 {
		t.Errorf("stats count %d for the second tenant's config, want 1", n)
	}
}

func TestClientConfig(t *testing.T) {
	t.Parallel()
	r := newClientRig(t, 800*time.Millisecond)
	ctx := context.Background()
	casa := r.ds.Tenants[1]

	got, err := r.client.Config(ctx, casa.ID)
	want := tenant.TenantConfig{RateLimits: tenant.DefaultRateLimits, MFAThresholdMinor: tenant.DefaultMFAThresholdMinor}
	if err != nil || got != want {
		t.Fatalf("Config = %+v, %v; want %+v", got, err, want)
	}
	if got, err := r.client.Config(ctx, r.ds.Tenants[0].ID); err != nil || got != r.ds.Tenants[0].Config() {
		t.Fatalf("first tenant: %+v, %v", got, err)
	}

	_, err = r.client.Config(ctx, ids.New(ids.Tenant))
	var nf *tenant.NotFoundError
	if !errors.Is(err, tenant.ErrNotFound) || !errors.As(err, &nf) || nf.Code != "MELMASTOON.TENANT.TENANT_NOT_FOUND" {
		t.Fatalf("unknown tenant: %v, want a NotFoundError with tenant-service's code", err)
	}
	if _, err := r.client.Config(ctx, "ten_nope"); codeOf(err) != apperr.ValidationFailed {
		t.Fatalf("malformed id: %v", err)
	}

	// Unusable values fall back to the default one by one; a usable one is
	// kept.
	tid := ids.New(ids.Tenant)
	r.fake.SetConfig(tid, map[string]any{
		"tenantId":          tid,
		"rateLimits":        map[string]any{"devicePerSecond": -1, "deviceBurst": 2.5, "tenantPerSecond": 300},
		"mfaThresholdMinor": -5,
	})
	got, err = r.client.Config(ctx, tid)
	want = tenant.TenantConfig{RateLimits: tenant.RateLimits{DevicePerSecond: 20, DeviceBurst: 60, TenantPerSecond: 300}, MFAThresholdMinor: 50000}
	if err != nil || got != want {
		t.Fatalf("sanitized = %+v, %v; want %+v", got, err, want)
	}
	// Absent fields are the defaults; zero is a real threshold.
	r.fake.SetConfig(tid, map[string]any{"mfaThresholdMinor": 0})
	if got, err := r.client.Config(ctx, tid); err != nil || got.RateLimits != tenant.DefaultRateLimits || got.MFAThresholdMinor != 0 {
		t.Fatalf("partial = %+v, %v", got, err)
	}
	// Another tenant's answer is never used.
	r.fake.SetConfig(tid, map[string]any{"tenantId": casa.ID})
	if _, err := r.client.Config(ctx, tid); codeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("answer for another tenant: %v, want UPSTREAM_UNAVAILABLE", err)
	}
}

func TestClientConfigUpstreamFailures(t *testing.T) {
	t.Parallel()
	r := newClientRig(t, 150*time.Millisecond)
	if err := r.fake.Fake().SetFault(fakes.Fault{Path: "/v1/tenants", ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Config(context.Background(), r.ds.Tenants[0].ID); codeOf(err) != apperr.UpstreamUnavailable {
		t.Fatalf("5xx: %v, want UPSTREAM_UNAVAILABLE", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	c, err := tenant.NewClient(tenant.Config{URL: srv.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Config(context.Background(), ids.New(ids.Tenant)); codeOf(err) != apperr.Internal {
		t.Fatalf("403: %v, want INTERNAL", err)
	}
}
