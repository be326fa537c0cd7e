// Package sessionsweeper is the `session-sweeper` scheduled function: Cloud
// Scheduler POSTs to it every minute (UTC; OIDC, invoker account only) and
// one run moves the sessions that stayed idle past their 12 h to expired
// and emits session.closed.v1 for each (shared/session.Manager.Sweep).
// Overlapping runs split the due sessions, so each is announced once.
package sessionsweeper

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/oklog/ulid/v2"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `session-sweeper` function as deployed. It needs Redis
// and Pub/Sub only, which the consumers' set-up builds.
var Function = boot.Function{Name: "session-sweeper", EntryPoint: "SessionSweeper",
	StartHTTP: func(ctx context.Context, l boot.Lookuper, log *slog.Logger) (boot.HTTPFunc, error) {
		d, err := setup.ConsumerWith(ctx, l, log)
		if err != nil {
			return boot.HTTPFunc{}, fmt.Errorf("session-sweeper: %w", err)
		}
		return boot.HTTPFunc{Handler: New(d.Sessions, d.Publisher), Close: d.Close}, nil
	}}

func init() { Function.Register() }

// batch bounds one run; a run that reaches it says so (more) and the next
// minute's run goes on.
const batch = 1000

// New returns the job's handler: one sweep per POST, answered with its
// session.SweepResult, or 503 when Redis or Pub/Sub failed (what was not
// announced is claimed again after the lease).
func New(sessions *session.Manager, pub events.Publisher) http.Handler {
	return setup.JobHandler("session sweeper", Run(sessions, pub))
}

// Run is one sweep.
func Run(sessions *session.Manager, pub events.Publisher) setup.Run {
	return func(ctx context.Context) (any, error) {
		return sessions.Sweep(ctx, batch, func(ctx context.Context, s *session.Session) error {
			ev, err := ClosedEvent(s)
			if err != nil {
				return err
			}
			return pub.Publish(ctx, ev)
		})
	}
}

// ClosedEvent is session.closed.v1 for an expired session, dated at its
// expiry and with an id derived from the session and that time: a run that
// publishes it again (its first publish was not acknowledged) sends the very
// same event, which consumers drop by id.
func ClosedEvent(s *session.Session) (events.Envelope, error) {
	ev, err := session.ClosedEvent(s)
	if err != nil {
		return events.Envelope{}, err
	}
	sum := sha256.Sum256([]byte(s.ID + "|" + strconv.FormatInt(s.EndedAt.UnixMilli(), 10)))
	id, err := ulid.New(ulid.Timestamp(s.EndedAt.Time), bytes.NewReader(sum[:]))
	if err != nil {
		return events.Envelope{}, fmt.Errorf("event id: %w", err)
	}
	ev.ID = string(ids.Event) + "_" + id.String()
	ev.OccurredAt = s.EndedAt
	if err := ev.Validate(); err != nil {
		return events.Envelope{}, err
	}
	return ev, nil
}
