package jsontime

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	in := time.Date(2026, 11, 22, 7, 0, 1, 123456789, time.FixedZone("x", 3600))
	b, err := json.Marshal(Of(in))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `"2026-11-22T06:00:01.123Z"`; got != want {
		t.Fatalf("marshal = %s, want %s", got, want)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(in.Truncate(time.Millisecond)) {
		t.Fatalf("round trip = %v, want %v", back, in)
	}
	if err := json.Unmarshal([]byte(`"yesterday"`), &back); err == nil {
		t.Fatal("want error for a non-RFC 3339 string")
	}
}
