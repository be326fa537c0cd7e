package activity

import (
	"context"
	"errors"
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
	if err != nil {
		ae := apperr.From(err)
		e.Outcome = OutcomeFailure
		e.Error = &ErrorInfo{Code: string(ae.Code), Message: ae.Detail}
	}
	return e
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
