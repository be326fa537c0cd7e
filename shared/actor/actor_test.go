package actor

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

func TestDefaultProperty(t *testing.T) {
	t.Parallel()
	p1, p2, p3 := ids.New(ids.Property), ids.New(ids.Property), ids.New(ids.Property)
	cases := []struct {
		name string
		a    Actor
		want string
	}{
		{"primary wins", Actor{PropertyScope: []string{p1, p2}, PrimaryPropertyID: p2}, p2},
		{"primary outside the listed order", Actor{PropertyScope: []string{p1, p2}, PrimaryPropertyID: p3}, p3},
		{"first in scope", Actor{PropertyScope: []string{p1, p2}}, p1},
		{"no scope", Actor{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.a.DefaultProperty(); got != tc.want {
				t.Errorf("DefaultProperty = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckProperty(t *testing.T) {
	t.Parallel()
	in, out := ids.New(ids.Property), ids.New(ids.Property)
	a := Actor{PropertyScope: []string{in}}
	cases := []struct {
		name   string
		id     string
		code   apperr.Code // "" means accepted
		status int
		field  string
	}{
		{name: "in scope", id: in},
		{name: "out of scope", id: out, code: apperr.PropertyOutOfScope, status: http.StatusForbidden},
		{name: "not a property id", id: ids.New(ids.Tenant), code: apperr.ValidationFailed, status: http.StatusBadRequest, field: "propertyId"},
		{name: "garbage", id: "prp_nope", code: apperr.ValidationFailed, status: http.StatusBadRequest, field: "propertyId"},
		{name: "empty", id: "", code: apperr.ValidationFailed, status: http.StatusBadRequest, field: "propertyId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := a.CheckProperty("propertyId", tc.id)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("CheckProperty(%q) = %v, want nil", tc.id, err)
				}
				return
			}
			ae := apperr.From(err)
			if err == nil || ae.Code != tc.code || ae.Status() != tc.status {
				t.Fatalf("CheckProperty(%q) = %v, want %s (%d)", tc.id, err, tc.code, tc.status)
			}
			if tc.field != "" && (len(ae.Fields) != 1 || ae.Fields[0].Field != tc.field) {
				t.Errorf("fields = %+v, want one on %q", ae.Fields, tc.field)
			}
		})
	}
}

func TestProperty(t *testing.T) {
	t.Parallel()
	p1, p2, out := ids.New(ids.Property), ids.New(ids.Property), ids.New(ids.Property)
	a := Actor{PropertyScope: []string{p1, p2}, PrimaryPropertyID: p2}
	cases := []struct {
		name, id, want string
		code           apperr.Code
	}{
		{name: "none named: the default", id: "", want: p2},
		{name: "named in scope", id: p1, want: p1},
		{name: "named out of scope", id: out, code: apperr.PropertyOutOfScope},
		{name: "malformed", id: "x", code: apperr.ValidationFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.Property("propertyId", tc.id)
			if tc.code != "" {
				if apperr.CodeOf(err) != tc.code {
					t.Fatalf("Property(%q) = %q, %v; want %s", tc.id, got, err, tc.code)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Property(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	a := Actor{Roles: []string{"front_desk", "night_auditor"}}
	cases := []struct {
		name  string
		roles []string
		has   bool
	}{
		{"one of them", []string{"manager", "night_auditor"}, true},
		{"exactly", []string{"front_desk"}, true},
		{"none of them", []string{"manager", "admin"}, false},
		{"no roles asked", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := a.HasRole(tc.roles...); got != tc.has {
				t.Errorf("HasRole(%v) = %v, want %v", tc.roles, got, tc.has)
			}
			err := a.RequireRole(tc.roles...)
			switch {
			case tc.has && err != nil:
				t.Errorf("RequireRole(%v) = %v, want nil", tc.roles, err)
			case !tc.has && (!apperr.Is(err, apperr.ForbiddenRole) || apperr.From(err).Status() != http.StatusForbidden):
				t.Errorf("RequireRole(%v) = %v, want 403 FORBIDDEN_ROLE", tc.roles, err)
			}
		})
	}
}

func TestNoSessionYet(t *testing.T) {
	t.Parallel()
	// An actor built before its session resolves grants nothing.
	a := Actor{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device)}
	p := ids.New(ids.Property)
	got := []any{a.InScope(p), a.HasRole("admin"), a.DefaultProperty(), apperr.CodeOf(a.CheckProperty("propertyId", p))}
	want := []any{false, false, "", apperr.PropertyOutOfScope}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
