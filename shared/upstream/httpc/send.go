package httpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
)

// ErrConflict is matched (errors.Is) by the *ConflictError of a 409.
var ErrConflict = errors.New("upstream: conflict")

// ConflictError is an upstream's 409: the write clashes with the state the
// upstream holds (another decision already recorded, say). Retrying the
// same request cannot succeed.
type ConflictError struct {
	Service string
	Op      string
	Code    string // the upstream's problem code, when it sent one
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: %s: conflict (%s)", e.Op, e.Service, e.Code)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// RejectedError is an upstream's refusal of a write with a 4xx other than
// 404, 409 and 429: the request was understood and turned down (a wrong
// MFA code, a state that forbids the action). It unwraps to an apperr
// INTERNAL, so callers that do not look for it answer as before; those that
// do map Status and Code to codes of their own — never the upstream's text,
// which Body (bounded by the client's limit) holds for decoding details.
type RejectedError struct {
	Service string
	Op      string
	Status  int
	Code    string // the upstream's problem code, when it sent one
	Body    []byte
	err     error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%s: %s: refused with status %d (%s)", e.Op, e.Service, e.Status, e.Code)
}

// Unwrap is the apperr INTERNAL a caller that ignores refusals reports.
func (e *RejectedError) Unwrap() error { return e.err }

// SendJSON calls method base/path with body encoded as JSON and decodes a
// 200 or 201 answer into v (nil: the answer's body is ignored). Errors are
// mapped as GetJSON's, plus a 409 as *ConflictError. Writes are only safe
// to retry when the upstream deduplicates them (a request id in body, or
// PostOnce's).
func (c *Client) SendJSON(ctx context.Context, op, method string, path []string, body, v any) error {
	return c.send(ctx, op, method, path, nil, body, v)
}

// maxRequestID is the longest Idempotency-Key the upstreams accept.
const maxRequestID = 128

// ValidRequestID reports whether id can be PostOnce's requestID: 1 to 128
// bytes.
func ValidRequestID(id string) bool { return id != "" && len(id) <= maxRequestID }

// PostOnce is SendJSON of a POST the upstream performs once per requestID,
// sent as the Idempotency-Key it deduplicates writes by: a repeat is
// answered with the first answer, so a retry after an unknown outcome is
// safe.
func (c *Client) PostOnce(ctx context.Context, op string, path []string, requestID string, body, v any) error {
	return c.send(ctx, op, http.MethodPost, path, http.Header{"Idempotency-Key": {requestID}}, body, v)
}

func (c *Client) send(ctx context.Context, op, method string, path []string, header http.Header, body, v any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: encode body: %w", op, err), "an internal error occurred")
	}
	return c.call(ctx, op, method, path, nil, header, payload, v)
}

// Refused returns the status and problem code of an upstream turning a
// write down: a *RejectedError, or a *ConflictError as a 409. ok is false
// for any other error, nil included. It is what the clients' own refusal
// types carry; the upstream's text never is.
func Refused(err error) (status int, code string, ok bool) {
	var rej *RejectedError
	var cf *ConflictError
	switch {
	case errors.As(err, &rej):
		return rej.Status, rej.Code, true
	case errors.As(err, &cf):
		return http.StatusConflict, cf.Code, true
	}
	return 0, "", false
}
