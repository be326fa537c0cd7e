package httpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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

// SendJSON calls method base/path with body encoded as JSON and decodes a
// 200 or 201 answer into v (nil: the answer's body is ignored). Errors are
// mapped as GetJSON's, plus a 409 as *ConflictError. Writes are only safe
// to retry when the upstream deduplicates them (a request id in body).
func (c *Client) SendJSON(ctx context.Context, op, method string, path []string, body, v any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: encode body: %w", op, err), "an internal error occurred")
	}
	return c.call(ctx, op, method, path, nil, payload, v)
}
