package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// Collection holds the records; terraform's TTL policy on expireAt names
// the same collection group (var.idempotency_collection).
const Collection = "idempotency"

// Defaults of Options.
const (
	DefaultLease     = 30 * time.Second
	DefaultRetention = 7 * 24 * time.Hour
	DefaultTimeout   = 3 * time.Second
)

// Options tune a Store; the zero value is the production setting.
type Options struct {
	// Lease is how long a running request holds its key before a retry may
	// assume its instance died and take over; renewed every Lease/3 while
	// the handler runs.
	Lease time.Duration
	// Retention is how long after the first request a key is remembered:
	// 7 days, because a desktop can stay offline that long.
	Retention time.Duration
	// Timeout bounds each Firestore call; past it the request is refused
	// with 503 rather than run unprotected.
	Timeout time.Duration
	// ClientOptions are passed to firestore.NewClient.
	ClientOptions []option.ClientOption
}

// Store keeps idempotency records in Firestore; build one per instance.
type Store struct {
	fs        *firestore.Client
	col       *firestore.CollectionRef
	lease     time.Duration
	retention time.Duration
	timeout   time.Duration
}

// NewStore opens a Firestore client for projectID (the emulator when
// FIRESTORE_EMULATOR_HOST is set). It does not contact Firestore: an
// outage shows as 503s on the requests, not as a failed start.
func NewStore(ctx context.Context, projectID string, opts Options) (*Store, error) {
	s := &Store{lease: opts.Lease, retention: opts.Retention, timeout: opts.Timeout}
	if s.lease == 0 {
		s.lease = DefaultLease
	}
	if s.retention == 0 {
		s.retention = DefaultRetention
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.lease < 0 || s.retention < s.lease || s.timeout < 0 {
		return nil, fmt.Errorf("idempotency.NewStore: want 0 < lease <= retention and timeout >= 0, got lease %s, retention %s, timeout %s", s.lease, s.retention, s.timeout)
	}
	fs, err := firestore.NewClient(ctx, projectID, opts.ClientOptions...)
	if err != nil {
		return nil, fmt.Errorf("idempotency.NewStore: %w", err)
	}
	s.fs, s.col = fs, fs.Collection(Collection)
	return s, nil
}

// Close releases the Firestore client.
func (s *Store) Close() error {
	if err := s.fs.Close(); err != nil {
		return fmt.Errorf("idempotency.Store.Close: %w", err)
	}
	return nil
}

// Wrap makes h idempotent per (tenant, device, Idempotency-Key); see the
// package documentation for the answers. h finds the body in
// c.Request.Body as usual (read once here and put back).
func (s *Store) Wrap(h gate.Handler) gate.Handler {
	return func(ctx context.Context, c *gate.Call) (gate.Result, error) {
		r := c.Request
		key, err := keyOf(r.Header)
		if err != nil {
			return gate.Result{}, err
		}
		body, err := readBody(r)
		if err != nil {
			return gate.Result{}, err
		}
		id, err := docID(c.Principal, key)
		if err != nil {
			return gate.Result{}, err
		}
		now := time.Now()
		rid := httpx.RequestID(ctx)
		fresh := record{
			TenantID: c.Principal.TenantID, DeviceID: c.Principal.DeviceID, OperatorID: c.Principal.OperatorID,
			Key: key, Fingerprint: fingerprint(c.Principal.OperatorID, r.Method, r.URL, body),
			Method: r.Method, Path: r.URL.Path, State: stateInFlight, Owner: newOwner(), Attempt: 1, RequestID: rid,
			CreatedAt: now, ExpireAt: now.Add(s.retention), LeaseUntil: now.Add(s.lease),
		}
		ref := s.col.Doc(id)
		cl, stored, err := s.begin(ctx, ref, fresh)
		if err != nil {
			return gate.Result{}, err
		}
		if stored != nil {
			return replay(stored), nil
		}
		return s.run(ctx, c, h, ref, cl, rid)
	}
}

// run executes h under the claim and records what it answered.
func (s *Store) run(ctx context.Context, c *gate.Call, h gate.Handler, ref *firestore.DocumentRef, cl claim, rid string) (gate.Result, error) {
	rn := s.renew(ctx, ref, cl)
	// A panicking handler must not leave renewals running: its record then
	// lapses after the lease like a crashed instance's, and a retry runs.
	defer rn.stop()
	res, herr := h(ctx, c)
	cl, ours := rn.stop()

	resp, out, outErr := capture(res, herr, rid)
	log := logging.From(ctx)
	// The answer stands even if the client hung up; so must its record.
	wctx := context.WithoutCancel(ctx)
	switch {
	case !ours:
		logLost(ctx, ref.ID, resp.Status)
	case releases(resp.Status, outErr):
		if err := s.release(wctx, ref, cl); err != nil {
			// The lease still ends, and a retry after it runs again.
			log.WarnContext(ctx, "idempotency record not released", "doc", ref.ID, "err", err)
		}
	default:
		switch err := s.complete(wctx, ref, cl, resp); {
		case lostRace(err):
			logLost(ctx, ref.ID, resp.Status)
		case err != nil:
			log.ErrorContext(ctx, "idempotency record not completed: a retry after the lease will run the action again",
				"doc", ref.ID, "status", resp.Status, "err", err)
		}
	}
	return out, outErr
}

// logLost reports a record taken over while its handler still ran: the
// lease lapsed (renewals failing, or a handler slower than it), so the
// action may have run twice; the taker's record is left alone.
func logLost(ctx context.Context, doc string, status int) {
	logging.From(ctx).ErrorContext(ctx, "idempotency record lost: taken over while the handler ran; the action may have run twice",
		"doc", doc, "status", status)
}

// capture turns the handler's answer into the response to store and what
// to hand the gate. Errors go back to the gate as errors, so its activity
// row says the action failed; the stored bytes are what the gate renders
// for them (httpx.WriteError), with this request's requestId.
func capture(res gate.Result, herr error, rid string) (*response, gate.Result, error) {
	if herr != nil {
		ae := apperr.From(herr)
		resp := &response{Status: ae.Status(), Header: map[string][]string{"Content-Type": {"application/problem+json"}}}
		if ae.RetryAfter > 0 {
			resp.Header["Retry-After"] = []string{strconv.Itoa(ae.RetryAfter)}
		}
		b, err := encode(httpx.ProblemFor(ae, rid))
		if err != nil {
			return internal(err)
		}
		resp.Body = b
		return resp, gate.Result{}, herr
	}
	resp := &response{Status: res.Status, Header: map[string][]string{}}
	for k, vs := range res.Header {
		if keepHeader(k) && len(vs) > 0 {
			resp.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
	switch {
	case len(res.Raw) > 0:
		resp.Body = res.Raw
	case res.Body != nil:
		b, err := encode(res.Body)
		if err != nil {
			return internal(err)
		}
		resp.Body = b
		resp.Header["Content-Type"] = []string{"application/json"}
	}
	if resp.Body != nil && len(resp.Header["Content-Type"]) == 0 {
		resp.Header["Content-Type"] = []string{"application/json"}
	}
	return resp, asResult(resp), nil
}

// internal is capture's answer when the body cannot be encoded: a 500,
// which releases the key.
func internal(err error) (*response, gate.Result, error) {
	ae := apperr.Wrap(apperr.Internal, fmt.Errorf("idempotency: encode response: %w", err), "an internal error occurred")
	return &response{Status: ae.Status()}, gate.Result{}, ae
}

// encode is httpx's encoding (escaped HTML, trailing newline), so a
// wrapped handler answers the same bytes as an unwrapped one.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func asResult(resp *response) gate.Result {
	h := make(http.Header, len(resp.Header)+1)
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	return gate.Result{Status: resp.Status, Header: h, Raw: resp.Body}
}

func replay(resp *response) gate.Result {
	res := asResult(resp)
	res.Header.Set(ReplayedHeader, "true")
	return res
}

// releases reports whether an answer is not the request's result but a
// state of the moment the client should retry through: see doc.go.
func releases(status int, err error) bool {
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusUnauthorized {
		return true
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case apperr.UpstreamUnavailable, apperr.MFARequired, apperr.MFAAttestationInvalid:
			return true
		}
	}
	return false
}
