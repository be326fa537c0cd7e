package idempotency

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	base := Fingerprint("op_1", "POST", u("/v1/x?b=2&a=1"), []byte(`{"a":1,"b":[true,null,"s"]}`))
	cases := []struct {
		name  string
		op    string
		path  string
		body  string
		equal bool
	}{
		{"identical", "op_1", "/v1/x?b=2&a=1", `{"a":1,"b":[true,null,"s"]}`, true},
		{"key order and whitespace", "op_1", "/v1/x?b=2&a=1", "{ \"b\" : [ true , null , \"\\u0073\" ],\n\"a\":1 }", true},
		{"query order", "op_1", "/v1/x?a=1&b=2", `{"a":1,"b":[true,null,"s"]}`, true},
		{"number literal", "op_1", "/v1/x?b=2&a=1", `{"a":1.0,"b":[true,null,"s"]}`, false},
		{"array order", "op_1", "/v1/x?b=2&a=1", `{"a":1,"b":[null,true,"s"]}`, false},
		{"value", "op_1", "/v1/x?b=2&a=1", `{"a":2,"b":[true,null,"s"]}`, false},
		{"query value", "op_1", "/v1/x?b=3&a=1", `{"a":1,"b":[true,null,"s"]}`, false},
		{"path", "op_1", "/v1/y?b=2&a=1", `{"a":1,"b":[true,null,"s"]}`, false},
		{"operator", "op_2", "/v1/x?b=2&a=1", `{"a":1,"b":[true,null,"s"]}`, false},
		{"trailing value", "op_1", "/v1/x?b=2&a=1", `{"a":1,"b":[true,null,"s"]} {}`, false},
	}
	for _, tc := range cases {
		got := Fingerprint(tc.op, "POST", u(tc.path), []byte(tc.body))
		if (got == base) != tc.equal {
			t.Errorf("%s: equal = %v, want %v", tc.name, got == base, tc.equal)
		}
	}
	if Fingerprint("op_1", "POST", u("/x"), []byte("not json")) == Fingerprint("op_1", "POST", u("/x"), []byte("not  json")) {
		t.Error("raw bodies that differ must not match")
	}
	if Fingerprint("op_1", "POST", u("/x"), nil) != Fingerprint("op_1", "POST", u("/x"), []byte{}) {
		t.Error("no body and an empty body should match")
	}
	// Length prefixes keep parts from running into each other.
	if Fingerprint("op_1", "POST", u("/x"), []byte("y")) == Fingerprint("op_1", "POST", u("/xy"), nil) {
		t.Error("path and body ran together")
	}
}

func TestKeyOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		vals []string
		code apperr.Code
	}{
		{"uuid", []string{"8e03978e-40d5-43e8-bc93-6894a57f9324"}, ""},
		{"printable with space", []string{`a "quoted" key ~!`}, ""},
		{"longest", []string{strings.Repeat("x", MaxKeyLength)}, ""},
		{"absent", nil, apperr.IdempotencyKeyRequired},
		{"empty", []string{""}, apperr.IdempotencyKeyRequired},
		{"too long", []string{strings.Repeat("x", MaxKeyLength+1)}, apperr.ValidationFailed},
		{"DEL", []string{"a\x7fb"}, apperr.ValidationFailed},
		{"newline", []string{"a\nb"}, apperr.ValidationFailed},
		{"UTF-8", []string{"ключ"}, apperr.ValidationFailed},
		{"repeated", []string{"a", "a"}, apperr.ValidationFailed},
	}
	for _, tc := range cases {
		h := http.Header{}
		for _, v := range tc.vals {
			h.Add(KeyHeader, v)
		}
		_, err := ParseKey(h.Values(KeyHeader))
		if got := apperr.CodeOf(err); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
		}
	}
}

func TestDocID(t *testing.T) {
	t.Parallel()
	p := auth.Principal{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device)}
	id, err := DocID(p.TenantID, p.DeviceID, "a/b/../c")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(id, "/") || !strings.HasPrefix(id, p.TenantID+"_"+p.DeviceID+"_") || len(id) != len(p.TenantID)+len(p.DeviceID)+2+64 {
		t.Fatalf("docID = %q", id)
	}
	bad := p
	bad.DeviceID = "dev_../x"
	if _, err := DocID(bad.TenantID, bad.DeviceID, "k"); apperr.CodeOf(err) != apperr.Internal {
		t.Fatalf("a malformed device id gave %v", err)
	}
}

func TestReleases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		err    error
		want   bool
	}{
		{http.StatusCreated, nil, false},
		{http.StatusConflict, apperr.New(apperr.DecisionAlreadyRecorded, "x"), false},
		{http.StatusBadRequest, apperr.New(apperr.ValidationFailed, "x"), false},
		{http.StatusForbidden, apperr.New(apperr.ForbiddenRole, "x"), false},
		{http.StatusForbidden, apperr.New(apperr.MFARequired, "x"), true},
		{http.StatusForbidden, apperr.New(apperr.MFAAttestationInvalid, "x"), true},
		{http.StatusTooManyRequests, apperr.New(apperr.RateLimited, "x"), true},
		{http.StatusServiceUnavailable, apperr.Unavailable(nil, "x"), true},
		{http.StatusBadGateway, nil, true},
		{http.StatusUnauthorized, apperr.New(apperr.Unauthenticated, "x"), true},
	}
	for _, tc := range cases {
		if got := releases(tc.status, tc.err); got != tc.want {
			t.Errorf("releases(%d, %v) = %v, want %v", tc.status, tc.err, got, tc.want)
		}
	}
}
