package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

func TestMoney(t *testing.T) {
	t.Parallel()
	cases := []struct {
		m  Money
		ok bool
	}{
		{Money{"123.45", "CAD"}, true},
		{Money{"0", "EUR"}, true},
		{Money{"-12.5", "EUR"}, true},
		{Money{"0.0001", "USD"}, true},
		{Money{"", "CAD"}, false},
		{Money{"12.345678", "CAD"}, false},
		{Money{"1e3", "CAD"}, false},
		{Money{"012", "CAD"}, false},
		{Money{"1,000.00", "CAD"}, false},
		{Money{"NaN", "CAD"}, false},
		{Money{"10.00", "cad"}, false},
		{Money{"10.00", "CADX"}, false},
		{Money{"10.00", ""}, false},
	}
	for _, tc := range cases {
		if got := tc.m.Valid(); got != tc.ok {
			t.Errorf("%v.Valid() = %v", tc.m, got)
		}
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{
		"2026-11-23": true, "2024-02-29": true, "2026-02-29": false, "2026-1-2": false,
		"23/11/2026": false, "": false, "2026-11-23T00:00:00Z": false,
	} {
		if ValidDate(s) != ok {
			t.Errorf("ValidDate(%q) = %v", s, !ok)
		}
		if err := CheckDate("date", s); (err == nil) != ok || (!ok && !apperr.Is(err, apperr.ValidationFailed)) {
			t.Errorf("CheckDate(%q) = %v", s, err)
		}
	}
	if got, ok := Instant("2026-11-23T19:07:00.123456+01:00"); !ok || jsontime.Format(got.Time) != "2026-11-23T18:07:00.123Z" {
		t.Errorf("Instant = %v, %v", got, ok)
	}
	for _, s := range []string{"", "yesterday", "2026-11-23", "0001-01-01T00:00:00Z"} {
		if _, ok := Instant(s); ok {
			t.Errorf("Instant(%q) accepted", s)
		}
	}
}

func TestCheckProperty(t *testing.T) {
	t.Parallel()
	tid, pid := ids.New(ids.Tenant), ids.New(ids.Property)
	if err := CheckProperty(tid, pid); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tid, pid string
		fields   []string
	}{
		{"acme", pid, []string{"tenantId"}},
		{tid, "../x", []string{"propertyId"}},
		{pid, tid, []string{"tenantId", "propertyId"}},
		{tid, strings.ToLower(pid), []string{"propertyId"}},
	}
	for _, tc := range cases {
		if err, fields := CheckProperty(tc.tid, tc.pid), strings.Join(tc.fields, ","); !validationOn(err, fields) {
			t.Errorf("CheckProperty(%q, %q) = %v, want VALIDATION_FAILED on %s", tc.tid, tc.pid, err, fields)
		}
	}
	if got := strings.Join(PropertyPath(tid, pid, "housekeeping", "board"), "/"); got != "v1/tenants/"+tid+"/properties/"+pid+"/housekeeping/board" {
		t.Errorf("PropertyPath = %s", got)
	}
}

func TestCheckTenantItem(t *testing.T) {
	t.Parallel()
	tid, rid := ids.New(ids.Tenant), ids.New(ids.Reservation)
	if err := CheckTenantItem(tid, ids.Reservation, "rsvId", rid); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tid, id string
		fields  string
	}{
		{"acme", rid, "tenantId"},
		{tid, "../x", "rsvId"},
		{tid, ids.New(ids.Folio), "rsvId"},
		{rid, tid, "tenantId"}, // the first malformed id only
	}
	for _, tc := range cases {
		if err := CheckTenantItem(tc.tid, ids.Reservation, "rsvId", tc.id); !validationOn(err, tc.fields) {
			t.Errorf("CheckTenantItem(%q, %q) = %v, want VALIDATION_FAILED on %s", tc.tid, tc.id, err, tc.fields)
		}
	}
	if got := strings.Join(TenantPath(tid, "reservations", rid), "/"); got != "v1/tenants/"+tid+"/reservations/"+rid {
		t.Errorf("TenantPath = %s", got)
	}
}

// validationOn reports whether err is VALIDATION_FAILED on exactly fields
// (comma-separated, in order).
func validationOn(err error, fields string) bool {
	ae := apperr.From(err)
	var got []string
	for _, f := range ae.Fields {
		got = append(got, f.Field)
	}
	return ae.Code == apperr.ValidationFailed && strings.Join(got, ",") == fields
}

func TestText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"  Amara Okafor ", 50, "Amara Okafor"},
		{"line\none\ttab", 50, "line one tab"},
		{"bell\x07 and \x1b[31mansi", 50, "bell and [31mansi"},
		{"evil\u202egnp.exe", 50, "evilgnp.exe"},
		{"isolate\u2066x\u2069", 50, "isolatex"},
		{"Élodie Tremblay", 6, "Élodi…"},
		{"abc", 3, "abc"},
	}
	for _, tc := range cases {
		got := Text(tc.in, tc.max)
		if got != tc.want || utf8.RuneCountInString(got) > tc.max {
			t.Errorf("Text(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestIDsAndRooms(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{
		"sug_01JN8EY4M01KXGKC1R2R3B3S4D": true, "alert-42": true, "a:b.c": true,
		"": false, "-x": false, "a b": false, "a/b": false, strings.Repeat("a", 129): false, "x\u202e": false,
	} {
		if ValidOpaqueID(s) != ok {
			t.Errorf("ValidOpaqueID(%q) = %v", s, !ok)
		}
	}
	for s, ok := range map[string]bool{
		"512": true, "2.04": true, "B-12": true, "PH 1": true,
		"": false, " 512": false, "<b>512</b>": false, "12345678901234567": false,
	} {
		if ValidRoomNumber(s) != ok {
			t.Errorf("ValidRoomNumber(%q) = %v", s, !ok)
		}
	}
}

func TestObject(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		`{"a":1}`: true, `{}`: true, `[]`: false, `"x"`: false, `null`: false, ``: false, `{"a":`: false,
		`{"big":"` + strings.Repeat("x", 100) + `"}`: false,
	} {
		if _, got := Object(json.RawMessage(in), 64); got != ok {
			t.Errorf("Object(%.20q) = %v", in, got)
		}
	}
}

func TestNegative(t *testing.T) {
	t.Parallel()
	type inner struct {
		Expected int `json:"expected"`
		Late     int `json:"late,omitempty"`
	}
	type doc struct {
		Date     string  `json:"date"`
		Arrivals inner   `json:"arrivals"`
		InHouse  int     `json:"inHouse"`
		Items    []inner `json:"items"`
		Pct      float64 `json:"pct"`
		Hidden   int     `json:"-"`
	}
	cases := []struct {
		v    any
		want string
	}{
		{doc{Arrivals: inner{Expected: 3}, InHouse: 2, Pct: -1, Hidden: -1, Items: []inner{{Expected: -1}}}, ""},
		{doc{InHouse: -1}, "inHouse"},
		{&doc{InHouse: -1, Arrivals: inner{Late: -2}}, "arrivals.late"},
		{struct{ Open, Critical int }{Open: 1, Critical: -1}, "Critical"},
		{3, ""},
	}
	for _, tc := range cases {
		if got := Negative(tc.v); got != tc.want {
			t.Errorf("Negative(%+v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestReportLogsOnce(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ctx := logging.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)))
	var r Report
	r.Log(ctx, "s", "op")
	if buf.Len() != 0 {
		t.Fatalf("an empty report logged: %s", buf.String())
	}
	for range 10 {
		r.Drop("status", "weird")
	}
	r.Map("priority", "asap", "normal")
	r.Log(ctx, "reservation-service", "reservation.Arrivals")
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", n, buf.String())
	}
	for _, want := range []string{`"dropped":10`, `"mapped":1`, `"service":"reservation-service"`, `dropped: status=\"weird\"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, buf.String())
		}
	}
}

func TestPropertyItem(t *testing.T) {
	t.Parallel()
	pid := ids.New(ids.Property)
	cases := []struct {
		id, property string
		want         []string // what is recorded; none when kept
	}{
		{"alert-42", pid, nil},
		{"a/b", pid, []string{`dropped: alertId="a/b"`}},
		{"alert-42", ids.New(ids.Property), []string{`dropped: propertyId=`}},
	}
	for _, tc := range cases {
		var r Report
		kept := r.PropertyItem("alertId", tc.id, tc.property, pid)
		ex := r.Examples()
		if kept != (tc.want == nil) || len(ex) != len(tc.want) || (len(ex) == 1 && !strings.HasPrefix(ex[0], tc.want[0])) {
			t.Errorf("PropertyItem(%q, %q) = %v, recorded %q; want %q", tc.id, tc.property, kept, ex, tc.want)
		}
	}
}
