package httpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// SendJSON calls method base/path with body encoded as JSON and decodes a
// 200 or 201 answer into v (nil: the answer's body is ignored). Errors are
// mapped as GetJSON's, plus a 409 as *ConflictError. Writes are only safe
// to retry when the upstream deduplicates them (a request id in body).
func (c *Client) SendJSON(ctx context.Context, op, method string, path []string, body, v any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: encode body: %w", op, err), "an internal error occurred")
	}
	u := c.base.JoinPath(path...)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
	if err != nil {
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: %w", op, err), "an internal error occurred")
	}
	Decorate(ctx, req)
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.hc.Do(req)
	if err != nil {
		return apperr.Unavailable(fmt.Errorf("%s: %w", op, describe(err)), c.service)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return apperr.Unavailable(fmt.Errorf("%s: read body: %w", op, describe(err)), c.service)
	}
	if int64(len(answer)) > c.maxBody {
		return apperr.Unavailable(fmt.Errorf("%s: response over %d bytes", op, c.maxBody), c.service)
	}
	var p struct {
		Code string `json:"code"`
	}
	switch {
	case resp.StatusCode == http.StatusOK, resp.StatusCode == http.StatusCreated:
	case resp.StatusCode == http.StatusNotFound:
		_ = json.Unmarshal(answer, &p) // the code is informative only
		return &NotFoundError{Service: c.service, Op: op, Code: truncate(p.Code, 128)}
	case resp.StatusCode == http.StatusConflict:
		_ = json.Unmarshal(answer, &p)
		return &ConflictError{Service: c.service, Op: op, Code: truncate(p.Code, 128)}
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
		return apperr.Unavailable(fmt.Errorf("%s: status %d", op, resp.StatusCode), c.service)
	default:
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: %s: unexpected status %d", op, c.service, resp.StatusCode), "an internal error occurred")
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(answer, v); err != nil {
		return apperr.Unavailable(fmt.Errorf("%s: decode: %w", op, err), c.service)
	}
	return nil
}
