// Package lock is the client of lock-service, the door-lock gateway in
// front of each property's lock vendor. Under
// /v1/tenants/{t}/properties/{p}:
//
//	POST reservations/{rsvId}/keys/{action}  Idempotency-Key: <requestId> → 201 Result
//	GET  reservations/{rsvId}/keys           → {items: [Key]}
//	GET  requests/{requestId}                → {requestId, status, answer}: lock-service's stored answer
//
// lock-service performs a request id at most once and answers a repeat
// with its first answer, so Act is safe to retry with the same id; Lookup
// tells a lost answer apart from a request that never arrived
// (ErrNeverReceived).
//
// Refusals (4xx but 404/429) come back as *Refusal with lock-service's
// status and code, for the caller to map to its own codes; the upstream's
// text is never kept.
package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Config is the lock-service part of a function's configuration.
type Config = upstream.LockConfig

// Actions lock-service performs.
var Actions = []string{"issue", "revoke", "rebind", "extend"}

// Key states.
const (
	StateActive  = "active"
	StateRevoked = "revoked"
)

// ErrNeverReceived is Lookup's answer for a request id lock-service never
// received: nothing was done.
var ErrNeverReceived = errors.New("lock: request never received")

const (
	maxKeyIDs = 64
	maxKeyID  = 128
	maxVendor = 64
)

// Request is one action.
type Request struct {
	TenantID, PropertyID, ReservationID string
	Action                              string
	// RequestID is lock-service's idempotency key.
	RequestID  string
	RoomNumber string    // issue, rebind
	ValidUntil time.Time // issue, extend
}

// Result is a performed action.
type Result struct {
	RequestID   string        `json:"requestId"`
	Action      string        `json:"action"`
	Vendor      string        `json:"vendor"`
	Outcome     string        `json:"outcome"`
	KeyIDs      []string      `json:"keyIds"`
	CompletedAt jsontime.Time `json:"completedAt"`
}

// Key is one door key's state.
type Key struct {
	KeyID      string        `json:"keyId"`
	State      string        `json:"state"`
	RoomNumber string        `json:"roomNumber"`
	ValidUntil jsontime.Time `json:"validUntil"`
	Vendor     string        `json:"vendor"`
}

// Refusal is lock-service turning an action down.
type Refusal struct {
	Status int
	Code   string
}

func (r *Refusal) Error() string { return fmt.Sprintf("lock-service refused: %d %s", r.Status, r.Code) }

// Client calls lock-service. Safe for concurrent use.
type Client struct{ http *httpc.Client }

// NewClient builds a client from cfg.
func NewClient(cfg Config, opts ...httpc.Option) (*Client, error) {
	return httpc.Open(upstream.Lock, httpc.Endpoint(cfg), opts, func(h *httpc.Client) *Client { return &Client{h} })
}

// Act performs r once per r.RequestID.
func (c *Client) Act(ctx context.Context, r Request) (Result, error) {
	const op = "lock.Act"
	if err := wire.CheckProperty(r.TenantID, r.PropertyID); err != nil {
		return Result{}, err
	}
	if !slices.Contains(Actions, r.Action) || !httpc.ValidRequestID(r.RequestID) {
		return Result{}, fmt.Errorf("%s: bad request %q/%q", op, r.Action, r.RequestID)
	}
	body := map[string]any{}
	if r.RoomNumber != "" {
		body["roomNumber"] = r.RoomNumber
	}
	if !r.ValidUntil.IsZero() {
		body["validUntil"] = jsontime.Of(r.ValidUntil)
	}
	var out Result
	err := c.http.PostOnce(ctx, op, wire.PropertyPath(r.TenantID, r.PropertyID, "reservations", r.ReservationID, "keys", r.Action), r.RequestID, body, &out)
	if status, code, ok := httpc.Refused(err); ok {
		return Result{}, &Refusal{Status: status, Code: code}
	}
	if err != nil {
		return Result{}, err
	}
	return out, c.check(op, r, out)
}

func (c *Client) check(op string, r Request, out Result) error {
	switch {
	case out.RequestID != r.RequestID || out.Action != r.Action:
		return c.http.Unavailable(op, "answer for another request")
	case out.Vendor == "" || len(out.Vendor) > maxVendor:
		return c.http.Unavailable(op, "malformed vendor")
	case len(out.KeyIDs) > maxKeyIDs:
		return c.http.Unavailable(op, "too many keys")
	}
	for _, k := range out.KeyIDs {
		if k == "" || len(k) > maxKeyID {
			return c.http.Unavailable(op, "malformed key id")
		}
	}
	return nil
}

// Keys reads the state of a reservation's keys, as the vendor reports it.
func (c *Client) Keys(ctx context.Context, tenantID, propertyID, reservationID string) ([]Key, error) {
	const op = "lock.Keys"
	var out struct {
		Items []Key `json:"items"`
	}
	if err := c.http.GetProperty(ctx, op, tenantID, propertyID, nil, &out, "reservations", reservationID, "keys"); err != nil {
		return nil, err
	}
	if len(out.Items) > 10*maxKeyIDs {
		return nil, c.http.Unavailable(op, "too many keys")
	}
	return out.Items, nil
}

// Lookup asks lock-service what became of request id: the Result it
// performed, a *Refusal, or ErrNeverReceived.
func (c *Client) Lookup(ctx context.Context, tenantID, propertyID, requestID string) (Result, error) {
	const op = "lock.Lookup"
	var out struct {
		RequestID string          `json:"requestId"`
		Status    int             `json:"status"`
		Answer    json.RawMessage `json:"answer"`
	}
	err := c.http.GetProperty(ctx, op, tenantID, propertyID, nil, &out, "requests", requestID)
	switch {
	case errors.Is(err, httpc.ErrNotFound):
		return Result{}, ErrNeverReceived
	case err != nil:
		return Result{}, err
	case out.RequestID != requestID:
		return Result{}, c.http.Unavailable(op, "answer for another request")
	case out.Status >= 400 && out.Status < 500:
		return Result{}, &Refusal{Status: out.Status, Code: httpc.ProblemCode(out.Answer)}
	case out.Status != http.StatusCreated && out.Status != http.StatusOK:
		// lock-service failed it (5xx) and did nothing.
		return Result{}, ErrNeverReceived
	}
	var res Result
	if err := json.Unmarshal(out.Answer, &res); err != nil {
		return Result{}, c.http.Unavailable(op, "undecodable stored answer")
	}
	return res, nil
}
