package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
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
func NewStore(ctx context.Context, projectID string, opts Options) (_ *Store, err error) {
	defer derrors.Wrap(&err, "idempotency.NewStore(%q)", projectID)
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
		return nil, fmt.Errorf("want 0 < lease <= retention and timeout >= 0, got lease %s, retention %s, timeout %s", s.lease, s.retention, s.timeout)
	}
	fs, err := firestore.NewClient(ctx, projectID, opts.ClientOptions...)
	if err != nil {
		return nil, err
	}
	s.fs, s.col = fs, fs.Collection(Collection)
	return s, nil
}

// Close releases the Firestore client.
func (s *Store) Close() (err error) {
	defer derrors.Wrap(&err, "idempotency.Store.Close")
	return s.fs.Close()
}

// Request is a mutating request as the store identifies it.
type Request struct {
	// Key is the client's idempotency key (ParseKey).
	Key    string
	Method string
	URL    *url.URL
	// Body is the whole request body (nil: none).
	Body []byte
}

// Response is an answer as it is stored and replayed. A nil Body is a
// response without one (204); a Body without a Content-Type header is
// application/json.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Action performs the request once and returns its answer; an error is the
// answer too (stored as the problem+json the gate renders for it, unless
// it is one a retry should run again for: see doc.go).
type Action func(ctx context.Context) (Response, error)

// Do runs action at most once per (a's tenant, a's device, key) and
// returns its answer; see the package documentation for the answers. A
// replay comes back without running action, with ReplayedHeader set. An
// error from action is returned, wrapped, after its answer is stored, so the
// caller's activity row says the action failed.
func (s *Store) Do(ctx context.Context, a actor.Actor, req Request, action Action) (_ Response, err error) {
	defer derrors.Wrap(&err, "idempotency.Store.Do")
	key, err := ParseKey([]string{req.Key})
	if err != nil {
		return Response{}, err
	}
	id, err := DocID(a.TenantID, a.DeviceID, key)
	if err != nil {
		return Response{}, err
	}
	now := time.Now()
	fresh := record{
		TenantID: a.TenantID, DeviceID: a.DeviceID, OperatorID: a.OperatorID,
		Key: key, Fingerprint: Fingerprint(a.OperatorID, req.Method, req.URL, req.Body),
		Method: req.Method, Path: req.URL.Path, State: stateInFlight, Owner: newOwner(), Attempt: 1, RequestID: a.RequestID,
		CreatedAt: now, ExpireAt: now.Add(s.retention), LeaseUntil: now.Add(s.lease),
	}
	ref := s.col.Doc(id)
	cl, stored, err := s.begin(ctx, ref, fresh)
	if err != nil {
		return Response{}, err
	}
	if stored != nil {
		return replay(stored), nil
	}
	return s.run(ctx, action, ref, cl, a.RequestID)
}

// run executes action under the claim and records what it answered.
func (s *Store) run(ctx context.Context, action Action, ref *firestore.DocumentRef, cl claim, rid string) (Response, error) {
	rn := s.renew(ctx, ref, cl)
	// A panicking action must not leave renewals running: its record then
	// lapses after the lease like a crashed instance's, and a retry runs.
	defer rn.stop()
	res, herr := action(ctx)
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

// logLost reports a record taken over while its action still ran: the
// lease lapsed (renewals failing, or an action slower than it), so the
// action may have run twice; the taker's record is left alone.
func logLost(ctx context.Context, doc string, status int) {
	logging.From(ctx).ErrorContext(ctx, "idempotency record lost: taken over while the handler ran; the action may have run twice",
		"doc", doc, "status", status)
}

// capture turns the action's answer into the response to store and what
// to hand back. Errors go back as errors, so the activity row says the
// action failed; the stored bytes are what the gate renders for them
// (httpx.WriteError), with this request's requestId.
func capture(res Response, herr error, rid string) (*response, Response, error) {
	if herr != nil {
		ae := apperr.From(herr)
		resp := &response{Status: ae.Status(), Header: map[string][]string{"Content-Type": {"application/problem+json"}}}
		if ae.RetryAfter > 0 {
			resp.Header["Retry-After"] = []string{strconv.Itoa(ae.RetryAfter)}
		}
		b, err := encode(httpx.ProblemFor(ae, rid))
		if err != nil {
			ae := apperr.Wrap(apperr.Internal, fmt.Errorf("encode problem: %w", err), "an internal error occurred")
			return &response{Status: ae.Status()}, Response{}, ae
		}
		resp.Body = b
		return resp, Response{}, herr
	}
	resp := &response{Status: res.Status, Header: map[string][]string{}}
	for k, vs := range res.Header {
		if keepHeader(k) && len(vs) > 0 {
			resp.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
	if len(res.Body) > 0 {
		resp.Body = res.Body
	}
	if resp.Body != nil && len(resp.Header["Content-Type"]) == 0 {
		resp.Header["Content-Type"] = []string{"application/json"}
	}
	return resp, asResponse(resp), nil
}

// encode is httpx's encoding (escaped HTML, trailing newline), so a
// stored problem is the same bytes the gate writes for it.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func asResponse(resp *response) Response {
	h := make(http.Header, len(resp.Header)+1)
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	return Response{Status: resp.Status, Header: h, Body: resp.Body}
}

func replay(resp *response) Response {
	res := asResponse(resp)
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
