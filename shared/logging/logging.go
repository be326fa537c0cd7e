// Package logging builds the service's slog logger in the JSON shape Cloud
// Logging parses (severity, message, time, trace), and carries the logger
// and request-scoped fields in a context.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
)

// LevelCritical is Cloud Logging's CRITICAL; used for start-up failures.
const LevelCritical = slog.Level(12)

// New returns a JSON logger writing to w. projectID turns trace ids into the
// full resource name Cloud Logging links to its trace viewer.
func New(w io.Writer, level slog.Level, projectID string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.MessageKey:
				a.Key = "message"
			case slog.LevelKey:
				a.Key = "severity"
				a.Value = slog.StringValue(severity(a.Value.Any().(slog.Level)))
			}
			return a
		},
	})
	return slog.New(&traceHandler{Handler: h, projectID: projectID})
}

// Default is the logger for a process: JSON on stdout at the level named by
// LOG_LEVEL (debug, info, warn, error; info when unset or unknown).
func Default() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		lvl = slog.LevelInfo
	}
	return New(os.Stdout, lvl, os.Getenv("GOOGLE_CLOUD_PROJECT"))
}

func severity(l slog.Level) string {
	switch {
	case l >= LevelCritical:
		return "CRITICAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}

type ctxKey int

const (
	keyLogger ctxKey = iota
	keyTrace
)

// Trace is the request's trace context, as parsed from traceparent or
// X-Cloud-Trace-Context.
type Trace struct {
	TraceID string
	SpanID  string
	Sampled bool
}

// WithTrace stores the trace of the request in ctx.
func WithTrace(ctx context.Context, t Trace) context.Context {
	return context.WithValue(ctx, keyTrace, t)
}

// TraceFrom returns the trace stored in ctx, if any.
func TraceFrom(ctx context.Context) (Trace, bool) {
	t, ok := ctx.Value(keyTrace).(Trace)
	return t, ok && t.TraceID != ""
}

// WithLogger stores l in ctx.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, keyLogger, l)
}

// From returns the logger stored in ctx, or slog.Default.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

type traceHandler struct {
	slog.Handler
	projectID string
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if t, ok := TraceFrom(ctx); ok {
		trace := t.TraceID
		if h.projectID != "" {
			trace = "projects/" + h.projectID + "/traces/" + t.TraceID
		}
		r.AddAttrs(slog.String("logging.googleapis.com/trace", trace))
		if t.SpanID != "" {
			r.AddAttrs(slog.String("logging.googleapis.com/spanId", t.SpanID))
		}
		r.AddAttrs(slog.Bool("logging.googleapis.com/trace_sampled", t.Sampled))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &traceHandler{Handler: h.Handler.WithAttrs(as), projectID: h.projectID}
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	return &traceHandler{Handler: h.Handler.WithGroup(name), projectID: h.projectID}
}
