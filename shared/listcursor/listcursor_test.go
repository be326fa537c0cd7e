package listcursor_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
)

func codec(t *testing.T, secret string) *listcursor.Codec {
	t.Helper()
	c, err := listcursor.New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const secret = "0123456789abcdef0123456789abcdef"

func TestRoundTripAndBinding(t *testing.T) {
	t.Parallel()
	c := codec(t, secret)
	b := listcursor.Binding{List: "ai-suggestions", TenantID: "ten_1", Filters: []string{"propertyId", "prp_1", "status", "open"}}
	p := listcursor.Position{Key: "2026-12-02T08:00:00.000Z", ID: "aim_01JD2Z3Q4R5S6T7V8W9XAYBZC7"}
	cur := c.Encode(b, p)
	got, err := c.Decode(b, cur)
	if err != nil || got != p {
		t.Fatalf("Decode = %+v, %v; want %+v", got, err, p)
	}
	if strings.Contains(cur, "aim_") {
		t.Errorf("cursor %q shows its position in clear; it should be opaque", cur)
	}

	refused := map[string]struct {
		b   listcursor.Binding
		cur string
	}{
		"other property":  {listcursor.Binding{List: b.List, TenantID: b.TenantID, Filters: []string{"propertyId", "prp_2", "status", "open"}}, cur},
		"other status":    {listcursor.Binding{List: b.List, TenantID: b.TenantID, Filters: []string{"propertyId", "prp_1", "status", "all"}}, cur},
		"other tenant":    {listcursor.Binding{List: b.List, TenantID: "ten_2", Filters: b.Filters}, cur},
		"other list":      {listcursor.Binding{List: "alerts", TenantID: b.TenantID, Filters: b.Filters}, cur},
		"filters re-cut":  {listcursor.Binding{List: b.List, TenantID: b.TenantID, Filters: []string{"propertyId", "prp_1status", "open"}}, cur},
		"other key":       {b, codec(t, strings.Repeat("k", 32)).Encode(b, p)},
		"altered":         {b, flip(t, cur)},
		"truncated":       {b, cur[:len(cur)-2]},
		"not base64":      {b, "!!!"},
		"empty":           {b, ""},
		"forged position": {b, forge(cur)},
		"too long":        {b, strings.Repeat("A", 2000)},
	}
	for name, tc := range refused {
		if _, err := c.Decode(tc.b, tc.cur); apperr.CodeOf(err) != apperr.ValidationFailed || apperr.From(err).Fields[0].Field != "cursor" {
			t.Errorf("%s: Decode = %v, want VALIDATION_FAILED on cursor", name, err)
		}
	}
}

// flip changes one bit in the middle of the cursor's bytes.
func flip(t *testing.T, cur string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	return base64.RawURLEncoding.EncodeToString(raw)
}

// forge swaps the position for another while keeping the MAC.
func forge(cur string) string {
	raw, _ := base64.RawURLEncoding.DecodeString(cur)
	mac := raw[len(raw)-16:]
	payload := []byte{1, 0, 30}
	payload = append(payload, "aim_00000000000000000000000000"...)
	return base64.RawURLEncoding.EncodeToString(append(payload, mac...))
}

func TestShortSecretRefused(t *testing.T) {
	t.Parallel()
	if _, err := listcursor.New([]byte("short")); err == nil {
		t.Fatal("New accepted a 5-byte secret")
	}
}

func TestLimit(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]int{"": 50, "1": 1, "200": 200, "50": 50} {
		if n, err := listcursor.Limit(raw); err != nil || n != want {
			t.Errorf("Limit(%q) = %d, %v; want %d", raw, n, err, want)
		}
	}
	for _, raw := range []string{"0", "201", "-1", "ten", "1.5", " 5"} {
		if _, err := listcursor.Limit(raw); apperr.CodeOf(err) != apperr.ValidationFailed {
			t.Errorf("Limit(%q) = %v, want VALIDATION_FAILED", raw, err)
		}
	}
}

// A cursor has one spelling: flipping any bit of its text is refused, the
// unused low bits of the last base64 character included.
func TestEveryBitOfTheTextCounts(t *testing.T) {
	t.Parallel()
	c, err := listcursor.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range 40 {
		b := listcursor.Binding{List: "suggestions", TenantID: "ten_1", Filters: []string{"q", strings.Repeat("x", n)}}
		cur := c.Encode(b, listcursor.Position{Key: "k", ID: strings.Repeat("i", n)})
		for i := range cur {
			bad := []byte(cur)
			bad[i] ^= 1
			if _, err := c.Decode(b, string(bad)); err == nil {
				t.Fatalf("cursor %q altered at %d (%q) accepted", cur, i, bad)
			}
		}
	}
}
