// Package httpx holds the HTTP plumbing every function shares: problem+json
// rendering, strict JSON decoding, request ids, trace context, panic
// recovery and the health endpoint.
package httpx

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// Problem is the RFC 9457 body of every error response.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      apperr.Code         `json:"code"`
	RequestID string              `json:"requestId"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
}

// ProblemTypeBase prefixes the code to make the problem's type URI.
const ProblemTypeBase = "https://errors.melmastoon.dev/"

// ProblemFor builds the problem body of err for the request id.
func ProblemFor(err error, requestID string) Problem {
	ae := apperr.From(err)
	return Problem{
		Type:      ProblemTypeBase + string(ae.Code),
		Title:     ae.Title(),
		Status:    ae.Status(),
		Detail:    ae.Detail,
		Code:      ae.Code,
		RequestID: requestID,
		Errors:    ae.Fields,
	}
}

// WriteError renders err as problem+json. Internal causes are logged with the
// request id and never sent.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	ae := apperr.From(err)
	rid := RequestID(r.Context())
	log := logging.From(r.Context())
	switch {
	case ae.Status() >= 500:
		log.ErrorContext(r.Context(), "request failed", "code", ae.Code, "err", err, "requestId", rid)
	case ae.Cause != nil:
		log.WarnContext(r.Context(), "request rejected", "code", ae.Code, "err", err, "requestId", rid)
	}
	if ae.Status() == http.StatusUnauthorized {
		// RFC 6750: tell the client which scheme to retry with.
		w.Header().Set("WWW-Authenticate", `Bearer realm="melmastoon-bff-backoffice"`)
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	writeBody(w, ae.Status(), "application/problem+json", ProblemFor(ae, rid), log)
}

// WriteJSON renders v as the JSON body with the given status. The body is
// encoded before anything is written, so an encoding failure becomes a clean
// 500 rather than a half-written 200.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	writeBody(w, status, "application/json", v, logging.From(r.Context()))
}

func writeBody(w http.ResponseWriter, status int, ctype string, v any, log *slog.Logger) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		log.Error("encode response", "err", err)
		status, ctype = http.StatusInternalServerError, "application/problem+json"
		buf.Reset()
		buf.WriteString(`{"type":"` + ProblemTypeBase + string(apperr.Internal) + `","title":"Internal error","status":500,"detail":"an internal error occurred","code":"` + string(apperr.Internal) + `","requestId":""}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
