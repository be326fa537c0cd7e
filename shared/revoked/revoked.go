// Package revoked tells the world about sessions a revocation has just
// ended (an iam-service revocation, a deleted device): each desktop gets
// forceLogout on its device stream, and session.closed.v1 is published.
package revoked

import (
	"context"
	"log/slog"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// Announce pushes forceLogout {sessionId, reason} to the device of each
// ended session and publishes its session.closed.v1. A stream that cannot
// be written fails the call (the consumer is redelivered: the desktop must
// learn it is logged out); a closed event that cannot be published is only
// logged — it is telemetry, and must not make Pub/Sub redeliver a
// revocation already applied.
func Announce(ctx context.Context, rdb *redisx.Client, pub events.Publisher, ended []*session.Session, reason string) error {
	for _, s := range ended {
		payload := map[string]string{"sessionId": s.ID, "reason": reason}
		if _, err := devicestream.Append(ctx, rdb, s.TenantID, s.DeviceID, devicestream.TypeForceLogout, payload); err != nil {
			return apperr.Unavailable(err, "device stream")
		}
		out, err := session.ClosedEvent(s)
		if err == nil {
			err = pub.Publish(ctx, out)
		}
		if err != nil {
			slog.WarnContext(ctx, "publish session.closed", "sessionId", s.ID, "err", err)
		}
	}
	return nil
}
