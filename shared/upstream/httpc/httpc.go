// Package httpc is the HTTP plumbing every upstream client shares: a per-call
// timeout on top of the caller's deadline, the request id and W3C trace
// context on every request, a bounded read, one mapping of statuses to
// apperr, and JSON decoding. The clients (shared/tenant,
// shared/upstream/<service>) add only their paths, id checks and the
// validation of what they decode: an Upstream names the service and its
// variables, validates a Config (as an Endpoint) and builds the Client
// (Open); GetProperty and NonNegative are the call and the check most
// endpoints start with.
//
// Error mapping of Client.GetJSON:
//   - transport failures, timeouts (the caller's deadline or the per-call
//     Timeout), 5xx, 429, bodies over the limit and undecodable 200s:
//     apperr UPSTREAM_UNAVAILABLE naming the service (with Retry-After);
//   - 404: *NotFoundError (errors.Is(err, ErrNotFound)); the caller decides
//     what it means (an unknown tenant, property or operator);
//   - any other status: apperr INTERNAL — a request we built wrong or
//     credentials we lack, nothing a retry fixes.
package httpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// DefaultMaxResponse bounds what a client reads from one answer. The largest
// upstream lists (a big hotel's in-house guests) are a few hundred KiB.
const DefaultMaxResponse = 4 << 20

// ErrNotFound is matched (errors.Is) by the *NotFoundError of a 404.
var ErrNotFound = errors.New("upstream: not found")

// NotFoundError is an upstream's 404.
type NotFoundError struct {
	Service string // "reservation-service"
	Op      string // the client method, for logs
	Code    string // the upstream's problem code, when it sent one
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s: %s: not found (%s)", e.Op, e.Service, e.Code)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ValidateURL checks that raw, the value of the variable env, is an
// absolute http(s) URL.
func ValidateURL(env, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", env, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("%s: must be an absolute http(s) URL", env)
	}
	return nil
}

// ValidateTimeout checks that d, the value of the variable env, is positive.
func ValidateTimeout(env string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s: must be positive", env)
	}
	return nil
}

// Option tunes a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client, e.g. one that adds Google ID tokens
// for Cloud Run service-to-service calls. Its own Timeout is left alone;
// the per-call timeout applies on top.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithMaxResponse sets the largest body read; a larger one is an outage.
func WithMaxResponse(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// Client calls one upstream service. Safe for concurrent use; build one per
// instance.
type Client struct {
	service string
	base    *url.URL
	timeout time.Duration
	hc      *http.Client
	maxBody int64
}

// New builds a client of service (named in errors: "reservation-service")
// at baseURL, each call bounded by timeout.
func New(service, baseURL string, timeout time.Duration, opts ...Option) (_ *Client, err error) {
	defer derrors.Wrap(&err, "httpc.New(%s)", service)
	if err := ValidateURL("base URL", baseURL); err != nil {
		return nil, err
	}
	if err := ValidateTimeout("timeout", timeout); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimRight(baseURL, "/"))
	c := &Client{service: service, base: base, timeout: timeout, maxBody: DefaultMaxResponse}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	return c, nil
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Every request of a busy instance goes to the same host; the default
	// of 2 idle connections would churn TCP+TLS handshakes.
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}

// Service is the name given to New.
func (c *Client) Service() string { return c.service }

// GetJSON calls GET base/path (segments joined, query added) and decodes a
// 200 answer into v. op names the calling method in errors and logs. The
// call ends at the earlier of ctx's deadline and the client's timeout.
// Errors are mapped as the package documentation says.
func (c *Client) GetJSON(ctx context.Context, op string, path []string, query url.Values, v any) error {
	return c.call(ctx, op, http.MethodGet, path, query, nil, nil, v)
}

// call sends one request and maps its answer. payload is nil for a read;
// a write (payload set) also accepts 201 and maps a 409 to *ConflictError,
// which a read never expects. v nil ignores the answer's body.
func (c *Client) call(ctx context.Context, op, method string, path []string, query url.Values, header http.Header, payload []byte, v any) error {
	u := c.base.JoinPath(path...)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: %w", op, err), "an internal error occurred")
	}
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	Decorate(ctx, req)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}

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
	if err := c.status(op, resp.StatusCode, payload != nil, answer); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(answer, v); err != nil {
		return apperr.Unavailable(fmt.Errorf("%s: decode: %w", op, err), c.service)
	}
	return nil
}

// status maps a status other than success to the package's errors.
func (c *Client) status(op string, status int, write bool, answer []byte) error {
	switch {
	case status == http.StatusOK, write && status == http.StatusCreated:
		return nil
	case status == http.StatusNotFound:
		return &NotFoundError{Service: c.service, Op: op, Code: ProblemCode(answer)}
	case write && status == http.StatusConflict:
		return &ConflictError{Service: c.service, Op: op, Code: ProblemCode(answer)}
	case status >= 500, status == http.StatusTooManyRequests:
		return apperr.Unavailable(fmt.Errorf("%s: status %d", op, status), c.service)
	case write && status >= 400:
		return &RejectedError{Service: c.service, Op: op, Status: status, Code: ProblemCode(answer), Body: answer,
			err: apperr.Wrap(apperr.Internal, fmt.Errorf("%s: %s: refused with status %d", op, c.service, status), "an internal error occurred")}
	default:
		return apperr.Wrap(apperr.Internal, fmt.Errorf("%s: %s: unexpected status %d", op, c.service, status), "an internal error occurred")
	}
}

// maxProblemCode bounds the problem code kept from an upstream's answer.
const maxProblemCode = 128

// ProblemCode is the problem code ({"code": …}) of an upstream's answer
// refusing a request, cut to 128 bytes; "" when it has none. The code is
// informative only: an answer that is not a problem (an HTML error page)
// is not an error, just no code.
func ProblemCode(answer []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(answer, &p)
	if len(p.Code) > maxProblemCode {
		return p.Code[:maxProblemCode]
	}
	return p.Code
}

// Unavailable reports an answer this client cannot use (decoded but
// inconsistent) as the service being unavailable: to a desktop, a broken
// upstream and a down one look the same.
func (c *Client) Unavailable(op string, format string, args ...any) error {
	return apperr.Unavailable(fmt.Errorf("%s: %s", op, fmt.Sprintf(format, args...)), c.service)
}

// describe makes timeouts recognisable in logs without losing the cause.
func describe(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("timeout: %w", err)
	}
	return err
}

// Decorate sets what every upstream request carries: Accept, User-Agent,
// and the request id and W3C trace context of ctx, so the upstream's logs
// line up with ours.
func Decorate(ctx context.Context, req *http.Request) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "melmastoon-bff-backoffice")
	if rid := httpx.RequestID(ctx); rid != "" {
		req.Header.Set("X-Request-Id", rid)
	}
	if t, ok := logging.TraceFrom(ctx); ok {
		if tp, ok := Traceparent(t); ok {
			req.Header.Set("traceparent", tp)
		}
	}
}

// Traceparent renders t as a W3C traceparent. The span id becomes the
// parent of the upstream's span; X-Cloud-Trace-Context carries it in
// decimal, traceparent in hex, and a missing one is replaced by a fresh id
// because the field is mandatory. ok is false when t has no usable trace id.
func Traceparent(t logging.Trace) (string, bool) {
	if len(t.TraceID) != 32 || !isHex(t.TraceID) || t.TraceID == strings.Repeat("0", 32) {
		return "", false
	}
	span := strings.ToLower(t.SpanID)
	switch {
	case len(span) == 16 && isHex(span) && span != strings.Repeat("0", 16):
	default:
		if n, err := strconv.ParseUint(t.SpanID, 10, 64); err == nil && n != 0 {
			span = fmt.Sprintf("%016x", n)
		} else {
			var b [8]byte
			_, _ = rand.Read(b[:])
			b[0] |= 1 // never all zeros
			span = hex.EncodeToString(b[:])
		}
	}
	flags := "00"
	if t.Sampled {
		flags = "01"
	}
	return "00-" + strings.ToLower(t.TraceID) + "-" + span + "-" + flags, true
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
