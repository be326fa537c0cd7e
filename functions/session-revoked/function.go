// Package sessionrevoked is the `session-revoked` function: it consumes
// melmastoon.iam.session.revoked.v1 and revokes the named session, the
// device's sessions, or all of the operator's, pushing forceLogout to each
// affected desktop and emitting session.closed.v1.
package sessionrevoked

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/revoked"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `session-revoked` function as deployed; the consumer
// name keys its processed-event markers, so it never changes.
var Function = boot.Function{Name: "session-revoked", EntryPoint: "SessionRevoked",
	StartEvent: setup.SessionConsumer("session-revoked", func(_ context.Context, _ boot.Lookuper, d *setup.Consumer) (consume.Func, func(), error) {
		return New(d.Redis, d.Sessions, d.Publisher), nil, nil
	})}

func init() { Function.Register() }

// data is the event's payload: no deviceId and no sessionId revokes all
// of the operator's sessions.
type data struct {
	OperatorID string `json:"operatorId"`
	DeviceID   string `json:"deviceId"`
	SessionID  string `json:"sessionId"`
	Reason     string `json:"reason"`
}

// ErrBadEvent marks a revocation that can never be applied; consume treats
// it as poison (logged and acknowledged).
var ErrBadEvent = consume.ErrPoison

// New returns the event handler. Applying a revocation twice, or after a
// later one, leaves the same state: the cutoff only moves forward and a
// session already revoked is not revoked again.
func New(rdb *redisx.Client, sessions *session.Manager, pub events.Publisher) consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		var d data
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("%w: data: %v", ErrBadEvent, err)
		}
		if err := ids.Check(ids.Operator, d.OperatorID); err != nil {
			return fmt.Errorf("%w: operatorId %v", ErrBadEvent, err)
		}
		if d.DeviceID != "" && !ids.Valid(ids.Device, d.DeviceID) {
			return fmt.Errorf("%w: deviceId malformed", ErrBadEvent)
		}
		if d.SessionID != "" && !ids.Valid(ids.Session, d.SessionID) {
			return fmt.Errorf("%w: sessionId malformed", ErrBadEvent)
		}
		ended, err := sessions.Revoke(ctx, session.Revocation{
			TenantID: ev.TenantID, OperatorID: d.OperatorID, DeviceID: d.DeviceID, SessionID: d.SessionID,
			At: ev.OccurredAt.Time,
		})
		if err != nil {
			return fmt.Errorf("session-revoked: %w", err)
		}
		return revoked.Announce(ctx, rdb, pub, ended, nonEmpty(d.Reason, "revoked"))
	}
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
