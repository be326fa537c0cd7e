// Package jsontime renders instants the way the API promises: RFC 3339, UTC,
// millisecond precision ("2026-11-22T07:00:00.000Z").
package jsontime

import (
	"fmt"
	"time"
)

// Layout is the wire format of every timestamp.
const Layout = "2006-01-02T15:04:05.000Z07:00"

// Time is a time.Time that marshals in Layout, in UTC.
type Time struct{ time.Time }

// Of wraps t, truncated to milliseconds.
func Of(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// Now is Of(time.Now()).
func Now() Time { return Of(time.Now()) }

// Format renders t in Layout.
func Format(t time.Time) string { return t.UTC().Format(Layout) }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + Format(t.Time) + `"`), nil
}

// UnmarshalJSON accepts any RFC 3339 instant.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("jsontime: %s is not an RFC 3339 string", b)
	}
	p, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("jsontime: %w", err)
	}
	*t = Of(p)
	return nil
}
