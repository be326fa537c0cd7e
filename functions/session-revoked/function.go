// Package sessionrevoked is the `session-revoked` function: it consumes
// melmastoon.iam.session.revoked.v1 and revokes the named session, the
// device's sessions, or all of the operator's, pushing forceLogout to each
// affected desktop and emitting session.closed.v1.
package sessionrevoked

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	// Vendoring carries funcframework only when the function imports it.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// EntryPoint is the name the function is deployed and registered under.
const EntryPoint = "SessionRevoked"

// Name keys the consumer's processed-event markers.
const Name = "session-revoked"

func init() {
	get := boot.Lazy(EntryPoint, func(ctx context.Context, log *slog.Logger) (func(context.Context, event.Event) error, error) {
		d, err := setup.ConsumerFromEnv(ctx, log)
		if err != nil {
			return nil, err
		}
		return consume.Handler(Name, d.Redis, New(d.Redis, d.Sessions, d.Publisher)), nil
	})
	functions.CloudEvent(EntryPoint, func(ctx context.Context, e event.Event) error {
		h, err := get()
		if err != nil {
			return err
		}
		return h(ctx, e)
	})
}

// data is the event's payload (SPEC §6).
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
		for _, s := range ended {
			payload := map[string]string{"sessionId": s.ID, "reason": nonEmpty(d.Reason, "revoked")}
			if _, err := devicestream.Append(ctx, rdb, s.TenantID, s.DeviceID, devicestream.TypeForceLogout, payload); err != nil {
				return apperr.Unavailable(err, "device stream")
			}
			out, err := gate.ClosedEvent(s)
			if err == nil {
				err = pub.Publish(ctx, out)
			}
			if err != nil {
				// Telemetry only: a lost closed event must not make Pub/Sub
				// redeliver a revocation that is already applied.
				slog.WarnContext(ctx, "publish session.closed", "sessionId", s.ID, "err", err)
			}
		}
		return nil
	}
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
