package tenant_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/melmastoon/bff-backoffice/infra/demo"
	fake "github.com/melmastoon/bff-backoffice/infra/fakes/tenant"
)

func newFake(t *testing.T) (*fake.Service, *httptest.Server, *demo.Dataset) {
	t.Helper()
	ds, err := demo.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	f := fake.New(ds)
	srv := httptest.NewServer(f.Handler())
	t.Cleanup(func() {
		f.Fake().Close()
		srv.Close()
	})
	return f, srv, ds
}

func getJSON(t *testing.T, url string) (int, string, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: body %s is not a JSON object: %v", url, b, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), m
}

func TestAccessEndpoint(t *testing.T) {
	t.Parallel()
	_, srv, ds := newFake(t)
	harbour, casa := ds.Tenants[0], ds.Tenants[1]
	amara, elodie := harbour.Operators[0], harbour.Operators[6]
	lucia := harbour.Operators[2]
	url := func(tid, oid string) string {
		return srv.URL + "/v1/tenants/" + tid + "/operators/" + oid + "/access"
	}

	code, ctype, body := getJSON(t, url(harbour.ID, amara.ID))
	if code != 200 || ctype != "application/json" {
		t.Fatalf("known operator: %d %s", code, ctype)
	}
	want := `{"operatorId":"` + amara.ID + `","primaryPropertyId":"` + amara.PrimaryPropertyID + `","propertyScope":["` +
		amara.PropertyScope[0] + `","` + amara.PropertyScope[1] + `"],"roles":["front_desk"],"tenantId":"` + harbour.ID + `"}`
	if got, _ := json.Marshal(body); string(got) != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}

	_, _, body = getJSON(t, url(harbour.ID, elodie.ID))
	if scope, ok := body["propertyScope"].([]any); !ok || len(scope) != 0 {
		t.Fatalf("empty scope must be [], got %#v", body["propertyScope"])
	}
	_, _, body = getJSON(t, url(harbour.ID, lucia.ID))
	if _, present := body["primaryPropertyId"]; present {
		t.Fatalf("primaryPropertyId must be absent when unset: %v", body)
	}

	cases := []struct {
		name, url, code string
		status          int
	}{
		{"unknown tenant", url("ten_01JN8EY4M00000000000000000", amara.ID), "MELMASTOON.TENANT.TENANT_NOT_FOUND", 404},
		{"unknown operator", url(harbour.ID, "op_01JN8EY4M00000000000000000"), "MELMASTOON.TENANT.OPERATOR_NOT_FOUND", 404},
		{"other tenant's operator", url(casa.ID, amara.ID), "MELMASTOON.TENANT.OPERATOR_NOT_FOUND", 404},
		{"malformed tenant", url("acme", amara.ID), "MELMASTOON.TENANT.VALIDATION_FAILED", 400},
		{"malformed operator", url(harbour.ID, "dev_01JN8EY4MG3DJRZGATQ0XVMKPN"), "MELMASTOON.TENANT.VALIDATION_FAILED", 400},
		{"unknown route", srv.URL + "/v1/tenants/" + harbour.ID + "/rooms", "MELMASTOON.TENANT.NOT_FOUND", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, ctype, body := getJSON(t, tc.url)
			if status != tc.status || ctype != "application/problem+json" || body["code"] != tc.code {
				t.Fatalf("%d %s %v, want %d %s", status, ctype, body, tc.status, tc.code)
			}
		})
	}
}

func TestPropertiesEndpoint(t *testing.T) {
	t.Parallel()
	_, srv, ds := newFake(t)
	harbour := ds.Tenants[0]
	code, _, body := getJSON(t, srv.URL+"/v1/tenants/"+harbour.ID+"/properties")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	props, _ := body["properties"].([]any)
	if len(props) != len(harbour.Properties) {
		t.Fatalf("%d properties, want %d", len(props), len(harbour.Properties))
	}
	first, _ := props[0].(map[string]any)
	p := harbour.Properties[0]
	if first["id"] != p.ID || first["name"] != p.Name || first["timezone"] != p.Timezone || len(first) != 3 {
		t.Fatalf("property %v, want %+v", first, p)
	}
	if code, _, _ := getJSON(t, srv.URL+"/v1/tenants/ten_01JN8EY4M00000000000000000/properties"); code != 404 {
		t.Fatalf("unknown tenant: %d, want 404", code)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	_, srv, ds := newFake(t)
	resp, err := http.Post(srv.URL+"/v1/tenants/"+ds.Tenants[0].ID+"/properties", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
		t.Fatalf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
