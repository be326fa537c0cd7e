package idempotency

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

const (
	stateInFlight  = "in_flight"
	stateCompleted = "completed"
)

// record is the Firestore document of one (tenant, device, key); doc.go
// describes it for on-call. Field names are part of the stored format:
// rename none without a migration plan for the 7 days of live records.
type record struct {
	TenantID    string    `firestore:"tenantId"`
	DeviceID    string    `firestore:"deviceId"`
	OperatorID  string    `firestore:"operatorId"`
	Key         string    `firestore:"key"`
	Fingerprint string    `firestore:"fingerprint"`
	Method      string    `firestore:"method"`
	Path        string    `firestore:"path"`
	State       string    `firestore:"state"`
	Owner       string    `firestore:"owner"`
	Attempt     int       `firestore:"attempt"`
	RequestID   string    `firestore:"requestId"`
	CreatedAt   time.Time `firestore:"createdAt"`
	ExpireAt    time.Time `firestore:"expireAt"`
	LeaseUntil  time.Time `firestore:"leaseUntil,omitempty"`
	CompletedAt time.Time `firestore:"completedAt,omitempty"`
	Response    *response `firestore:"response,omitempty"`
}

// response is a stored answer. Body is nil for a response without one
// (204); JSON bodies are never empty, so nil is unambiguous.
type response struct {
	Status int                 `firestore:"status"`
	Header map[string][]string `firestore:"header,omitempty"`
	Body   []byte              `firestore:"body,omitempty"`
}

// StoredRecord and StoredResponse name record and response for the tests
// of the layers above (idemhttp), which plant records as another instance
// left them and read back what was stored. The store uses neither name.
type (
	StoredRecord   = record
	StoredResponse = response
)

// replacement is the update that turns any existing document into r, with
// the fields r does not have removed. It lists every field of record.
func (r record) replacement() []firestore.Update {
	return []firestore.Update{
		{Path: "tenantId", Value: r.TenantID},
		{Path: "deviceId", Value: r.DeviceID},
		{Path: "operatorId", Value: r.OperatorID},
		{Path: "key", Value: r.Key},
		{Path: "fingerprint", Value: r.Fingerprint},
		{Path: "method", Value: r.Method},
		{Path: "path", Value: r.Path},
		{Path: "state", Value: r.State},
		{Path: "owner", Value: r.Owner},
		{Path: "attempt", Value: r.Attempt},
		{Path: "requestId", Value: r.RequestID},
		{Path: "createdAt", Value: r.CreatedAt},
		{Path: "expireAt", Value: r.ExpireAt},
		{Path: "leaseUntil", Value: r.LeaseUntil},
		{Path: "completedAt", Value: firestore.Delete},
		{Path: "response", Value: firestore.Delete},
	}
}

// claim is the right to run the handler for a record: the update time of
// our last write to it, which every next write of ours requires.
type claim struct {
	updated time.Time
}

// maxRounds bounds the create/read/take-over loop; each extra round means
// another request changed the record in between, and a contended key
// answers 409 rather than spin.
const maxRounds = 4

// begin claims the record for fresh, or says why not: a stored response
// to replay, or an *apperr.Error (409, 422, 503).
func (s *Store) begin(ctx context.Context, ref *firestore.DocumentRef, fresh record) (claim, *response, error) {
	for range maxRounds {
		wr, err := s.create(ctx, ref, fresh)
		if err == nil {
			return claim{updated: wr.UpdateTime}, nil, nil
		}
		if status.Code(err) != codes.AlreadyExists {
			return claim{}, nil, unavailable(fmt.Errorf("create %s: %w", ref.ID, err))
		}
		snap, err := s.get(ctx, ref)
		if status.Code(err) == codes.NotFound {
			continue // released or expired in between: try to create again
		}
		if err != nil {
			return claim{}, nil, unavailable(fmt.Errorf("read %s: %w", ref.ID, err))
		}
		var cur record
		derr := snap.DataTo(&cur)
		now := time.Now()
		next := fresh
		switch {
		case derr == nil && cur.Owner == fresh.Owner:
			// The client library retried our own Create after losing
			// its answer: the record is ours.
			return claim{updated: snap.UpdateTime}, nil, nil
		case derr != nil || !now.Before(cur.ExpireAt) || !cur.valid():
			// Expired (TTL deletion is late) or unreadable: absent.
			if derr != nil {
				logging.From(ctx).WarnContext(ctx, "idempotency record unreadable, replacing it", "doc", ref.ID, "err", derr)
			}
		case cur.Fingerprint != fresh.Fingerprint:
			return claim{}, nil, apperr.New(apperr.IdempotencyKeyReused,
				"this %s was used with another request; use a new key for a new request", KeyHeader)
		case cur.State == stateCompleted:
			return claim{}, cur.Response, nil
		case now.Before(cur.LeaseUntil):
			return claim{}, nil, inFlight(cur.LeaseUntil.Sub(now))
		default:
			// In flight past its lease: the instance that ran it is gone.
			// Keep the first request's window.
			next.CreatedAt, next.ExpireAt, next.Attempt = cur.CreatedAt, cur.ExpireAt, cur.Attempt+1
			logging.From(ctx).InfoContext(ctx, "idempotency lease expired, taking over", "doc", ref.ID, "attempt", next.Attempt, "previousRequestId", cur.RequestID)
		}
		wr, err = s.update(ctx, ref, next.replacement(), snap.UpdateTime)
		switch {
		case err == nil:
			return claim{updated: wr.UpdateTime}, nil, nil
		case lostRace(err):
			continue // another request took it first: look again
		default:
			return claim{}, nil, unavailable(fmt.Errorf("take over %s: %w", ref.ID, err))
		}
	}
	return claim{}, nil, inFlight(time.Second)
}

// valid reports whether a decoded record is one this code can act on.
func (r *record) valid() bool {
	switch r.State {
	case stateInFlight:
		return true
	case stateCompleted:
		return r.Response != nil
	}
	return false
}

// complete stores the response; only the holder of cl can.
func (s *Store) complete(ctx context.Context, ref *firestore.DocumentRef, cl claim, resp *response) error {
	_, err := s.update(ctx, ref, []firestore.Update{
		{Path: "state", Value: stateCompleted},
		{Path: "completedAt", Value: time.Now()},
		{Path: "leaseUntil", Value: firestore.Delete},
		{Path: "response", Value: resp},
	}, cl.updated)
	return err
}

// release deletes the record so that the next retry runs the handler.
func (s *Store) release(ctx context.Context, ref *firestore.DocumentRef, cl claim) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := ref.Delete(ctx, firestore.LastUpdateTime(cl.updated))
	return err
}

func (s *Store) create(ctx context.Context, ref *firestore.DocumentRef, r record) (*firestore.WriteResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return ref.Create(ctx, r)
}

func (s *Store) get(ctx context.Context, ref *firestore.DocumentRef) (*firestore.DocumentSnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return ref.Get(ctx)
}

func (s *Store) update(ctx context.Context, ref *firestore.DocumentRef, ups []firestore.Update, prev time.Time) (*firestore.WriteResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return ref.Update(ctx, ups, firestore.LastUpdateTime(prev))
}

// lostRace reports a write refused because the record changed (or
// vanished) since we read it.
func lostRace(err error) bool {
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.NotFound, codes.Aborted:
		return true
	}
	return false
}

// renewal extends the lease of a claimed record while its handler runs,
// so a slow upstream is not mistaken for a dead instance.
type renewal struct {
	once  sync.Once
	stopc chan struct{}
	done  chan struct{}
	cl    claim // owned by the goroutine until done is closed
	lost  bool
}

func (s *Store) renew(ctx context.Context, ref *firestore.DocumentRef, cl claim) *renewal {
	rn := &renewal{stopc: make(chan struct{}), done: make(chan struct{}), cl: cl}
	// The lease must outlive a client that hung up: the handler may still
	// be running its mutation.
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(rn.done)
		t := time.NewTicker(max(s.lease/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-rn.stopc:
				return
			case <-t.C:
			}
			wr, err := s.update(ctx, ref, []firestore.Update{{Path: "leaseUntil", Value: time.Now().Add(s.lease)}}, rn.cl.updated)
			switch {
			case err == nil:
				rn.cl.updated = wr.UpdateTime
			case lostRace(err):
				rn.lost = true
				return
			default:
				// The lease may well still hold; the next tick tries again.
				logging.From(ctx).WarnContext(ctx, "idempotency lease renewal failed", "doc", ref.ID, "err", err)
			}
		}
	}()
	return rn
}

// stop ends the renewals and returns the claim to write with, and whether
// the record is still ours. It may be called more than once.
func (rn *renewal) stop() (claim, bool) {
	rn.once.Do(func() { close(rn.stopc) })
	<-rn.done
	return rn.cl, !rn.lost
}

func newOwner() string { return rand.Text() }

func unavailable(err error) error {
	return apperr.Unavailable(err, "the idempotency store")
}

func inFlight(left time.Duration) error {
	e := apperr.New(apperr.IdempotencyInFlight, "a request with this %s is still running; retry later", KeyHeader)
	e.RetryAfter = max(1, int(math.Ceil(left.Seconds())))
	return e
}

// keepHeader reports whether a handler's header belongs in the stored
// response; the rest are set per request by the pipeline, and a replayed
// copy would be stale or duplicated.
func keepHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "X-Request-Id", "X-Session-Id", "Content-Length", "Cache-Control", "X-Content-Type-Options",
		"Date", "Connection", "Transfer-Encoding", "Set-Cookie", "Idempotent-Replayed":
		return false
	}
	return true
}
