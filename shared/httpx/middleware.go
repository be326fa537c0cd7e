package httpx

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

type ctxKey int

const keyRequestID ctxKey = 0

// RequestID returns the id of the request carried by ctx.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// WithRequestID stores id in ctx; upstream clients propagate it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyRequestID, id)
}

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// Wrap is the outermost middleware of every function: request id (the
// client's X-Request-Id when well formed), trace context, logger in the
// context, and recovery from panics as a problem+json 500.
func Wrap(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rid := r.Header.Get("X-Request-Id")
		if !safeRequestID.MatchString(rid) {
			rid = "req_" + ulid.Make().String()
		}
		w.Header().Set("X-Request-Id", rid)
		ctx := WithRequestID(r.Context(), rid)
		if t, ok := parseTrace(r.Header); ok {
			ctx = logging.WithTrace(ctx, t)
		}
		ctx = logging.WithLogger(ctx, log, slog.String("requestId", rid))
		r = r.WithContext(ctx)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				WriteError(w, r, apperr.Wrap(apperr.Internal, fmt.Errorf("panic: %v", v), "an internal error occurred"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// parseTrace reads W3C traceparent, falling back to X-Cloud-Trace-Context.
func parseTrace(h http.Header) (logging.Trace, bool) {
	if tp := h.Get("traceparent"); tp != "" {
		parts := strings.Split(tp, "-")
		if len(parts) == 4 && len(parts[1]) == 32 && len(parts[2]) == 16 && isHex(parts[1]) && isHex(parts[2]) {
			return logging.Trace{TraceID: parts[1], SpanID: parts[2], Sampled: parts[3] == "01"}, true
		}
	}
	if xc := h.Get("X-Cloud-Trace-Context"); xc != "" {
		trace, rest, _ := strings.Cut(xc, "/")
		if len(trace) == 32 && isHex(trace) {
			span, opts, _ := strings.Cut(rest, ";")
			return logging.Trace{TraceID: trace, SpanID: span, Sampled: opts == "o=1"}, true
		}
	}
	return logging.Trace{}, false
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// Health answers GET /health with 200 and no auth; it touches no dependency,
// so a slow database never makes Cloud Run restart healthy instances.
func Health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		WriteError(w, r, apperr.New(apperr.MethodNotAllowed, "use GET"))
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// NotFound answers any unrouted path with a problem+json 404.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, apperr.New(apperr.NotFound, "no route for %s %s", r.Method, r.URL.Path))
}

// Methods answers 405 with Allow unless the method is one of allowed.
func Methods(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	for _, m := range allowed {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	WriteError(w, r, apperr.New(apperr.MethodNotAllowed, "method %s is not allowed here", r.Method))
	return false
}
