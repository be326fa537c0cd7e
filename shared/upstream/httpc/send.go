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
// to retry when the upstream deduplicates them (a request id in body).
func (c *Client) SendJSON(ctx context.Context, op, method string, path []string, body, v any) error {
	return c.SendJSONWith(ctx, op, method, path, nil, body, v)
}

// SendJSONWith is SendJSON with extra request headers, such as the
// Idempotency-Key an upstream deduplicates writes by (the headers every
// request carries are set after, and win).
func (c *Client) SendJSONWith(ctx context.Context, op, method string, path []string, header http.Header, body, v any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: encode body: %w", op, err), "an internal error occurred")
	}
	return c.call(ctx, op, method, path, nil, header, payload, v)
}
