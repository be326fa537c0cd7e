package activity

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

// Note describes the activity row of an operator's action; the domain
// method that performs the action fills it in and returns it, whether the
// action succeeded or not. A Note without an Action is not a "meaningful"
// action and gets no row.
type Note struct {
	Category   Category
	Action     string
	PropertyID string // empty: the actor's default property
	Resource   *Ref
	// Partial names the parts of a view that could not be shown as asked
	// ("revenue=unavailable"): a non-empty Partial makes a successful
	// row's outcome partial, so an auditor can tell that the operator saw
	// less than the whole picture.
	Partial []string
	// ContextHash is the row's contextHash (hex SHA-256 of the request's
	// context, ContextHash); the gate fills it in when the action did not.
	ContextHash string
	// Recorded is true once the note's row is committed, by the action
	// itself inside its own transaction (RecordTx) or ahead of it
	// (RecordNow): whoever records the request's outcome writes no second
	// row then.
	Recorded bool
}

// EntryOf is the ledger row of note n for actor a: a success, or a failure
// carrying err's code and detail. Its latency runs from a.Start to now.
func EntryOf(a actor.Actor, n Note, err error) Entry {
	e := Entry{
		TenantID:   a.TenantID,
		OperatorID: a.OperatorID,
		DeviceID:   a.DeviceID,
		SessionID:  a.SessionID,
		PropertyID: n.PropertyID,
		OccurredAt: a.Start,
		Category:   n.Category,
		Action:     n.Action,
		Resource:   n.Resource,
		Outcome:    OutcomeSuccess,
		LatencyMs:  int(time.Since(a.Start).Milliseconds()),
		RequestID:  a.RequestID,
	}
	if e.PropertyID == "" {
		e.PropertyID = a.DefaultProperty()
	}
	e.ContextHash = n.ContextHash
	switch {
	case err != nil:
		ae := apperr.From(err)
		e.Outcome = OutcomeFailure
		e.Error = &ErrorInfo{Code: string(ae.Code), Message: ae.Detail}
	case len(n.Partial) > 0:
		e.Outcome = OutcomePartial
		e.Error = &ErrorInfo{Code: string(apperr.UpstreamUnavailable), Message: strings.Join(n.Partial, ", ")}
	}
	return e
}

// ContextHash is the contextHash of a request: the hex SHA-256 of its
// method, path, query (keys sorted, values in order), session and the
// SHA-256 of its body (empty when it has none), each length-prefixed so
// no two contexts serialise alike. A dispute over what an operator asked
// for is settled by recomputing it from the request log; the hash itself
// holds no guest data.
func ContextHash(method, path string, query url.Values, sessionID string, bodySHA256 []byte) string {
	h := sha256.New()
	var buf []byte
	put := func(s string) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(s)))
		h.Write(buf)
		h.Write([]byte(s))
	}
	put("melmastoon activity context v1")
	put(method)
	put(path)
	keys := slices.Sorted(maps.Keys(query))
	buf = binary.AppendUvarint(buf[:0], uint64(len(keys)))
	h.Write(buf)
	for _, k := range keys {
		put(k)
		vs := query[k]
		buf = binary.AppendUvarint(buf[:0], uint64(len(vs)))
		h.Write(buf)
		for _, v := range vs {
			put(v)
		}
	}
	put(sessionID)
	put(string(bodySHA256))
	return hex.EncodeToString(h.Sum(nil))
}

// RecordTx writes n's success row inside the action's own transaction, so
// the row and the action's writes commit or fail together. It does not set
// n.Recorded: the caller does once tx has committed, since a transaction
// that rolls back afterwards takes the row with it and the failure must
// still be recorded.
func RecordTx(ctx context.Context, tx pgx.Tx, a actor.Actor, n Note) (err error) {
	defer derrors.Wrap(&err, "activity.RecordTx")
	if n.Action == "" {
		return errors.New("the note has no Action")
	}
	return InsertTx(ctx, tx, EntryOf(a, n, nil))
}

// Recorder commits activity rows; *Ledger is the one used in every
// deployment.
type Recorder interface {
	Record(ctx context.Context, entries ...Entry) error
}

// RecordNow commits n's success row before the action goes on and marks n
// recorded, for actions on stores that cannot share a transaction with the
// ledger: recording first means an outage of the ledger stops the action
// instead of letting it happen unrecorded.
func RecordNow(ctx context.Context, r Recorder, a actor.Actor, n *Note) (err error) {
	defer derrors.Wrap(&err, "activity.RecordNow")
	if n.Action == "" {
		return errors.New("the note has no Action")
	}
	if err := r.Record(ctx, EntryOf(a, *n, nil)); err != nil {
		return err
	}
	n.Recorded = true
	return nil
}
