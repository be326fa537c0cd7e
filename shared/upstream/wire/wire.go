// Package wire holds the values and checks the upstream clients share: money,
// civil dates, the checks of ids before a call, and the cleaning of what an
// upstream answers so that garbage never reaches a desktop.
//
// The clients' policy for a decoded answer, in one place:
//   - an answer that is structurally wrong (a total that is negative, a date
//     other than the one asked for, money that is not money) is an outage:
//     the whole answer is refused as UPSTREAM_UNAVAILABLE;
//   - an item of a list that cannot be shown safely (malformed id, unknown
//     state that decides where it goes, unparseable timestamp, another
//     property's item) is dropped;
//   - an unknown value of a field that only ranks or labels an item is
//     mapped to a documented neutral value ("other", "normal", …);
//   - optional fields that are malformed are cleared; free text is stripped
//     of control and bidi-override characters and truncated.
//
// Every drop or mapping is logged once per answer (Report), never silently.
package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// DateLayout is the layout of a civil date ("2026-11-22").
const DateLayout = time.DateOnly

// Money is an amount in a currency; Amount is a decimal string so no float
// ever rounds a balance.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

var (
	amountRE   = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Valid reports whether m is a decimal amount (at most 4 fraction digits)
// in an ISO 4217-shaped currency.
func (m Money) Valid() bool {
	return amountRE.MatchString(m.Amount) && currencyRE.MatchString(m.Currency)
}

func (m Money) String() string { return m.Amount + " " + m.Currency }

// ValidDate reports whether s is a civil date in its canonical form.
func ValidDate(s string) bool {
	t, err := time.Parse(DateLayout, s)
	return err == nil && t.Format(DateLayout) == s
}

// Instant parses an RFC 3339 timestamp from an upstream; ok is false for
// an empty or malformed one. Timestamps are decoded as strings first so a
// malformed optional one clears a field instead of failing the answer.
func Instant(s string) (jsontime.Time, bool) {
	if s == "" {
		return jsontime.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return jsontime.Time{}, false
	}
	return jsontime.Of(t), true
}

// CheckDate is ValidDate as a VALIDATION_FAILED error on field.
func CheckDate(field, s string) error {
	if !ValidDate(s) {
		return apperr.Validation(apperr.FieldError{Field: field, Message: "must be a date as YYYY-MM-DD"})
	}
	return nil
}

// CheckProperty checks the ids every property-scoped call starts with, so a
// malformed id never reaches (or is joined into the path of) an upstream.
func CheckProperty(tenantID, propertyID string) error {
	var fields []apperr.FieldError
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		fields = append(fields, apperr.FieldError{Field: "tenantId", Message: err.Error()})
	}
	if err := ids.Check(ids.Property, propertyID); err != nil {
		fields = append(fields, apperr.FieldError{Field: "propertyId", Message: err.Error()})
	}
	if len(fields) > 0 {
		return apperr.Validation(fields...)
	}
	return nil
}

// CheckPropertyDate is CheckProperty and then CheckDate of the date a
// day's resource is asked for.
func CheckPropertyDate(tenantID, propertyID, date string) error {
	if err := CheckProperty(tenantID, propertyID); err != nil {
		return err
	}
	return CheckDate("date", date)
}

// CheckTenantItem checks the ids a tenant-scoped call for one item starts
// with, as CheckProperty does, but stops at the first malformed one: the
// tenant's (field tenantId), then the item's, of kind p (field).
func CheckTenantItem(tenantID string, p ids.Prefix, field, id string) error {
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		return apperr.Validation(apperr.FieldError{Field: "tenantId", Message: err.Error()})
	}
	if err := ids.Check(p, id); err != nil {
		return apperr.Validation(apperr.FieldError{Field: field, Message: err.Error()})
	}
	return nil
}

// TenantPath is the path of a tenant-scoped resource, as segments.
func TenantPath(tenantID string, rest ...string) []string {
	return append([]string{"v1", "tenants", tenantID}, rest...)
}

// PropertyPath is the path of a property-scoped resource, as segments.
func PropertyPath(tenantID, propertyID string, rest ...string) []string {
	return TenantPath(tenantID, append([]string{"properties", propertyID}, rest...)...)
}

var roomNumberRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./-]{0,15}$`)

// ValidRoomNumber reports whether s looks like a room number ("512",
// "2.04", "B-12"): it is shown as is and used to match rooms across
// services.
func ValidRoomNumber(s string) bool { return roomNumberRE.MatchString(s) }

var opaqueIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// ValidOpaqueID reports whether s can serve as another service's id in our
// keys and URLs: 1–128 characters of letters, digits and _.:- .
func ValidOpaqueID(s string) bool { return opaqueIDRE.MatchString(s) }

// Text cleans free text from an upstream: control characters and bidi
// overrides (which can disguise text on screen) are removed, newlines and
// tabs become spaces, spaces are trimmed, and a result over max runes is cut
// to max, its last rune an ellipsis.
func Text(s string, max int) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case unicode.IsControl(r), r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	clean = strings.TrimSpace(clean)
	if max > 0 && utf8.RuneCountInString(clean) > max {
		clean = strings.TrimSpace(string([]rune(clean)[:max-1])) + "…"
	}
	return clean
}

// Object returns raw when it is a JSON object of at most max bytes. Payloads
// are passed through to desktops, so anything else is refused.
func Object(raw json.RawMessage, max int) (json.RawMessage, bool) {
	if len(raw) == 0 || len(raw) > max {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false
	}
	return raw, true
}

// Negative returns the name of a negative count in v, the first in name
// order, or "" when every count is at least zero. The counts are the int
// fields of v (a struct or a pointer to one) by their JSON names, those of
// nested structs as "outer.inner"; lists are items, not counts, and are
// not looked into. Reading the fields, rather than a list written beside
// each summary type, means a count added to a summary is checked too.
func Negative(v any) string {
	bad := ""
	walkCounts(reflect.Indirect(reflect.ValueOf(v)), "", func(name string, n int64) {
		if n < 0 && (bad == "" || name < bad) {
			bad = name
		}
	})
	return bad
}

func walkCounts(v reflect.Value, prefix string, visit func(string, int64)) {
	if v.Kind() != reflect.Struct {
		return
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		switch fv := v.Field(i); {
		case fv.CanInt():
			visit(prefix+name, fv.Int())
		case f.Anonymous:
			walkCounts(fv, prefix, visit)
		default:
			walkCounts(fv, prefix+name+".", visit)
		}
	}
}

// Report collects what a client dropped or mapped in one answer; Log writes
// it once, so a broken upstream costs one log line per call, not one per
// item.
type Report struct {
	dropped, mapped int
	examples        []string
}

const maxExamples = 5

// Drop records that an item was left out because of what (e.g.
// "reservationId") and its value.
func (r *Report) Drop(what, value string) {
	r.dropped++
	r.example("dropped: " + what + "=" + quote(value))
}

// Map records that a field's value was replaced.
func (r *Report) Map(what, from, to string) {
	r.mapped++
	r.example("mapped: " + what + "=" + quote(from) + "→" + to)
}

func (r *Report) example(s string) {
	if len(r.examples) < maxExamples {
		r.examples = append(r.examples, s)
	}
}

func quote(v string) string {
	if len(v) > 64 {
		v = v[:64] + "…"
	}
	return fmt.Sprintf("%q", v)
}

// Examples returns what was dropped or mapped (at most five), for errors
// about a single item.
func (r *Report) Examples() []string { return append([]string(nil), r.examples...) }

// Empty reports whether nothing was dropped or mapped.
func (r *Report) Empty() bool { return r.dropped == 0 && r.mapped == 0 }

// Log writes the report as one warning, if there is anything to say.
func (r *Report) Log(ctx context.Context, service, op string) {
	if r.Empty() {
		return
	}
	logging.From(ctx).WarnContext(ctx, "upstream answer cleaned: items dropped or values mapped",
		"service", service, "op", op, "dropped", r.dropped, "mapped", r.mapped, "examples", r.examples)
}

// Keep cleans the items of one answer with clean, keeps those it does not
// drop, in order, and logs what was dropped or mapped once. The result is
// never nil, so an empty list encodes as [] rather than null.
func Keep[D, T any](ctx context.Context, service, op string, items []D, clean func(D, *Report) (T, bool)) []T {
	var rep Report
	out := make([]T, 0, len(items))
	for _, d := range items {
		if v, ok := clean(d, &rep); ok {
			out = append(out, v)
		}
	}
	rep.Log(ctx, service, op)
	return out
}

// DecodeOne reads one item as an upstream sends it outside a list (the
// data of an event) and cleans it as a listed item: an item a list would
// drop is an error naming what it is and its id; mapped values are logged.
func DecodeOne[D, T any](ctx context.Context, service, op, what string, data []byte, id func(D) string, clean func(D, *Report) (T, bool)) (T, error) {
	var zero T
	var d D
	if err := json.Unmarshal(data, &d); err != nil {
		return zero, fmt.Errorf("%s: %w", op, err)
	}
	var rep Report
	v, ok := clean(d, &rep)
	if !ok {
		return zero, fmt.Errorf("%s: unusable %s %q: %v", op, what, id(d), rep.Examples())
	}
	rep.Log(ctx, service, op)
	return v, nil
}

// StatusQuery checks the filter of a list that holds open items or all
// ("" is open) and returns it as the query the upstreams take.
func StatusQuery(status string) (url.Values, error) {
	switch status {
	case "":
		status = "open"
	case "open", "all":
	default:
		return nil, apperr.Validation(apperr.FieldError{Field: "status", Message: `must be "open" or "all"`})
	}
	return url.Values{"status": {status}}, nil
}

// Known is a label or rank of an upstream answer whose values are a
// closed set.
type Known interface {
	~string
	Valid() bool
}

// Default replaces an unknown *v by def, the documented neutral value, and
// records the mapping as what.
func Default[T Known](rep *Report, what string, v *T, def T) {
	if !(*v).Valid() {
		rep.Map(what, string(*v), string(def))
		*v = def
	}
}

// Clear empties an optional *v that is set but not valid, and records the
// mapping as what.
func (r *Report) Clear(what string, v *string, valid func(string) bool) {
	if *v != "" && !valid(*v) {
		r.Map(what, *v, "")
		*v = ""
	}
}

// OptionalInstant is the optional timestamp s (Instant), cleared and
// recorded as what when it is set but malformed.
func (r *Report) OptionalInstant(what, s string) jsontime.Time {
	t, ok := Instant(s)
	if !ok && s != "" {
		r.Map(what, s, "")
	}
	return t
}

// PropertyItem reports whether an item listed for propertyID may be kept:
// its id (field idField) is an opaque id and its own property
// (itemProperty) is propertyID — another property's item must never be
// shown there. A refused item is recorded as dropped.
func (r *Report) PropertyItem(idField, id, itemProperty, propertyID string) bool {
	switch {
	case !ValidOpaqueID(id):
		r.Drop(idField, id)
		return false
	case itemProperty != propertyID:
		r.Drop("propertyId", itemProperty)
		return false
	}
	return true
}
