package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestCloudLoggingShape(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := New(&buf, slog.LevelDebug, "proj-1")
	ctx := WithTrace(context.Background(), Trace{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true})
	l.WarnContext(ctx, "upstream slow", "upstream", "tenant")
	l.Log(ctx, LevelCritical, "config invalid")

	dec := json.NewDecoder(&buf)
	var first, second map[string]any
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"severity":                      "WARNING",
		"message":                       "upstream slow",
		"upstream":                      "tenant",
		"logging.googleapis.com/trace":  "projects/proj-1/traces/4bf92f3577b34da6a3ce929d0e0e4736",
		"logging.googleapis.com/spanId": "00f067aa0ba902b7",
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["time"]; !ok {
		t.Error("time missing")
	}
	if second["severity"] != "CRITICAL" {
		t.Errorf("severity = %v, want CRITICAL", second["severity"])
	}
}
