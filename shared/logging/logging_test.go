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

// The request's fields travel in its context: every record logged with that
// context carries them, a derived context adds to them without changing its
// parent's, and a record logged without the context has none.
func TestContextAttrs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := New(&buf, slog.LevelDebug, "")
	ctx := WithLogger(context.Background(), l, slog.String("requestId", "req_1"))
	child := WithAttrs(ctx, slog.String("tenantId", "ten_1"))
	sibling := WithAttrs(ctx, slog.String("tenantId", "ten_2"))

	From(child).InfoContext(child, "child")
	From(sibling).InfoContext(sibling, "sibling")
	From(ctx).InfoContext(ctx, "parent")
	From(ctx).Info("no context")

	dec := json.NewDecoder(&buf)
	want := []map[string]any{
		{"message": "child", "requestId": "req_1", "tenantId": "ten_1"},
		{"message": "sibling", "requestId": "req_1", "tenantId": "ten_2"},
		{"message": "parent", "requestId": "req_1", "tenantId": nil},
		{"message": "no context", "requestId": nil, "tenantId": nil},
	}
	for _, w := range want {
		var got map[string]any
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%v: %s = %v, want %v", w["message"], k, got[k], v)
			}
		}
	}
	if From(child) != l {
		t.Error("WithAttrs lost the logger")
	}
}

// A handler wrapped by Handler (the tests' loggers) gets the context's
// fields as well.
func TestHandlerAddsContextAttrs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := slog.New(Handler(slog.NewJSONHandler(&buf, nil))).With("fixed", "yes")
	ctx := WithAttrs(WithLogger(context.Background(), l), slog.String("sessionId", "ses_1"))
	From(ctx).WarnContext(ctx, "x")
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["sessionId"] != "ses_1" || got["fixed"] != "yes" {
		t.Errorf("record = %v, want sessionId ses_1 and fixed yes", got)
	}
}
