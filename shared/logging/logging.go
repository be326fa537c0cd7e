// Package logging builds the service's slog logger in the JSON shape Cloud
// Logging parses (severity, message, time, trace), and carries the logger
// and request-scoped fields in a context.
//
// Request-scoped fields (request id, tenant, operator, session) travel in
// the context (WithAttrs) and are added when a record is written, rather
// than through slog.Logger.With: With pre-renders its fields into a new
// handler on every request (about a dozen allocations on the gated path)
// although most requests log nothing. The catch: a record logged without
// the request's context (Info rather than InfoContext) does not get them.
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

// scope is what a context carries for logging: the logger and the fields
// every record logged with that context gets.
type scope struct {
	log   *slog.Logger
	attrs []slog.Attr
}

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

// WithLogger stores l in ctx, with attrs added to the fields ctx carries
// (see WithAttrs).
func WithLogger(ctx context.Context, l *slog.Logger, attrs ...slog.Attr) context.Context {
	n := scoped(ctx, attrs)
	n.log = l
	return context.WithValue(ctx, keyLogger, n)
}

// WithAttrs returns ctx with attrs added to the fields of every record
// logged with it (through a handler of this package: New, or Handler).
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	return context.WithValue(ctx, keyLogger, scoped(ctx, attrs))
}

// scoped is ctx's scope with attrs added, as a new value.
func scoped(ctx context.Context, attrs []slog.Attr) *scope {
	n := &scope{}
	s, _ := ctx.Value(keyLogger).(*scope)
	if s != nil {
		n.log = s.log
	}
	switch {
	case len(attrs) == 0 && s != nil:
		n.attrs = s.attrs
	case s != nil && len(s.attrs) > 0:
		// A fresh array: contexts derived from the parent must not see
		// these fields through a shared backing array.
		n.attrs = make([]slog.Attr, 0, len(s.attrs)+len(attrs))
		n.attrs = append(append(n.attrs, s.attrs...), attrs...)
	default:
		n.attrs = attrs
	}
	return n
}

// From returns the logger stored in ctx, or slog.Default.
func From(ctx context.Context) *slog.Logger {
	if s, ok := ctx.Value(keyLogger).(*scope); ok && s.log != nil {
		return s.log
	}
	return slog.Default()
}

// Handler wraps h so that records get the fields of their context
// (WithAttrs). New's handler has it already; tests wrap theirs.
func Handler(h slog.Handler) slog.Handler { return ctxHandler{h} }

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	addContextAttrs(ctx, &r)
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(as)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
}

func addContextAttrs(ctx context.Context, r *slog.Record) {
	if ctx == nil {
		return
	}
	if s, ok := ctx.Value(keyLogger).(*scope); ok && len(s.attrs) > 0 {
		r.AddAttrs(s.attrs...)
	}
}

type traceHandler struct {
	slog.Handler
	projectID string
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	addContextAttrs(ctx, &r)
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
