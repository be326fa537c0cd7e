package httpx

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
)

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	cases := []struct {
		name, ctype, in string
		code            apperr.Code
		field           string
	}{
		{"ok", "application/json", `{"name":"a","count":1}`, "", ""},
		{"ok with charset", "application/json; charset=utf-8", `{"name":"a"}`, "", ""},
		{"no content type", "", `{}`, apperr.UnsupportedMediaType, ""},
		{"text", "text/plain", `{}`, apperr.UnsupportedMediaType, ""},
		{"empty", "application/json", ``, apperr.ValidationFailed, ""},
		{"syntax", "application/json", `{"name":`, apperr.ValidationFailed, ""},
		{"unknown field", "application/json", `{"nme":"a"}`, apperr.ValidationFailed, "nme"},
		{"wrong type", "application/json", `{"count":"x"}`, apperr.ValidationFailed, "count"},
		{"trailing value", "application/json", `{} []`, apperr.ValidationFailed, ""},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, apperr.PayloadTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.in))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			var b body
			err := DecodeJSON(httptest.NewRecorder(), r, &b)
			if got := apperr.CodeOf(err); got != tc.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.code)
			}
			if tc.field != "" {
				ae := apperr.From(err)
				if len(ae.Fields) != 1 || ae.Fields[0].Field != tc.field {
					t.Fatalf("fields = %+v, want %s", ae.Fields, tc.field)
				}
			}
		})
	}
}

func TestWriteErrorNeverLeaksCauses(t *testing.T) {
	t.Parallel()
	h := Wrap(logtest.TestLogger(t), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, errors.New(`pq: relation "bff.secret_table" does not exist`))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	p := decodeProblem(t, rec)
	if rec.Code != 500 || p.Code != apperr.Internal || strings.Contains(rec.Body.String(), "secret_table") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if p.RequestID == "" || p.RequestID != rec.Header().Get("X-Request-Id") {
		t.Fatalf("requestId %q vs header %q", p.RequestID, rec.Header().Get("X-Request-Id"))
	}
}

func TestWrapRecoversPanics(t *testing.T) {
	t.Parallel()
	h := Wrap(logtest.TestLogger(t), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom at handler.go:42") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	p := decodeProblem(t, rec)
	if rec.Code != 500 || p.Code != apperr.Internal || strings.Contains(rec.Body.String(), "handler.go") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

func TestRequestIDFromClientOnlyWhenSafe(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"desk-7f3a9c21-0001":        true,
		"short":                     false,
		"has space in it ok":        false,
		"<script>alert(1)</script>": false,
	}
	for in, kept := range cases {
		var seen string
		h := Wrap(logtest.TestLogger(t), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = RequestID(r.Context()) }))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-Id", in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if (seen == in) != kept || seen == "" || rec.Header().Get("X-Request-Id") != seen {
			t.Errorf("X-Request-Id %q → %q (kept=%v want %v)", in, seen, seen == in, kept)
		}
	}
}

func TestEveryCodeHasAStatusAndTitle(t *testing.T) {
	t.Parallel()
	for _, c := range apperr.Codes() {
		e := apperr.New(c, "x")
		if e.Status() < 400 || e.Title() == "" || !strings.HasPrefix(string(c), "MELMASTOON.") {
			t.Errorf("%s: status %d title %q", c, e.Status(), e.Title())
		}
	}
	if s := apperr.New(apperr.RateLimited, "x").Status(); s != 429 {
		t.Errorf("RATE_LIMITED = %d", s)
	}
}
