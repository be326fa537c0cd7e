package devices

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
	"github.com/melmastoon/bff-backoffice/shared/upstream/syncsvc"
)

// SyncService is sync-service as the sync calls need it
// (*syncsvc.Client).
type SyncService interface {
	DeviceCursor(ctx context.Context, tenantID, propertyID, deviceID string) (syncsvc.Cursor, error)
	Handshake(ctx context.Context, tenantID, propertyID, deviceID string, h syncsvc.Handshake) (syncsvc.Cursor, error)
}

// SyncCursor is DeviceSyncStatus.lastCursor on the wire.
type SyncCursor struct {
	PullCursor      string        `json:"pullCursor"`
	PushAck         string        `json:"pushAck"`
	CursorVersion   int64         `json:"cursorVersion"`
	ServerTimestamp jsontime.Time `json:"serverTimestamp"`
}

// SyncResult is the answer of both sync calls: the cursor now stored (the
// newest the BFF has seen, which may be newer than this call's reply) and
// whether this call moved it.
type SyncResult struct {
	DeviceID            string         `json:"deviceId"`
	LastCursor          SyncCursor     `json:"lastCursor"`
	Advanced            bool           `json:"advanced"`
	LastSyncHandshakeAt *jsontime.Time `json:"lastSyncHandshakeAt,omitempty"`
}

// HandshakeRequest is the body of POST /v1/sync/handshake.
type HandshakeRequest struct {
	PullCursor    string `json:"pullCursor"`
	PushAck       string `json:"pushAck"`
	CursorVersion *int64 `json:"cursorVersion"`
}

// maxCursorVersion is the largest version a JSON number carries exactly.
const maxCursorVersion = 1<<53 - 1

// RefreshCursor asks sync-service for the calling device's cursor and
// stores it unless a newer one is stored. It emits sync.cursor_advanced.v1
// when the stored cursor moved.
func (s *Service) RefreshCursor(ctx context.Context, a actor.Actor, sync SyncService) (_ SyncResult, _ []events.Envelope, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "devices.RefreshCursor(%s)", a.DeviceID)
	note := activity.Note{Category: activity.CategorySyncHandshake, Action: activity.ActionSyncCursorRefreshed, Resource: &activity.Ref{Kind: "device", ID: a.DeviceID}}
	prop, err := s.deviceProperty(ctx, a)
	note.PropertyID = prop
	if err != nil {
		return SyncResult{}, nil, note, err
	}
	c, err := sync.DeviceCursor(ctx, a.TenantID, prop, a.DeviceID)
	if err != nil {
		return SyncResult{}, nil, note, err
	}
	res, evs, err := s.storeCursor(ctx, a, prop, c, false)
	return res, evs, note, err
}

// Handshake forwards the calling device's handshake to sync-service and
// records the cursor it answers (never moving the stored one back). Only
// a handshake sync-service answered is recorded: a timeout or refusal is
// the call's error, and its activity row a failure. A version
// sync-service holds as stale is 412 VERSION_CONFLICT.
func (s *Service) Handshake(ctx context.Context, a actor.Actor, req HandshakeRequest, sync SyncService) (_ SyncResult, _ []events.Envelope, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "devices.Handshake(%s)", a.DeviceID)
	note := activity.Note{Category: activity.CategorySyncHandshake, Action: activity.ActionSyncHandshake, Resource: &activity.Ref{Kind: "device", ID: a.DeviceID}}
	var fe []apperr.FieldError
	if len(req.PullCursor) > syncsvc.MaxCursorLen {
		fe = append(fe, apperr.FieldError{Field: "pullCursor", Message: "must be at most 512 bytes"})
	}
	if len(req.PushAck) > syncsvc.MaxCursorLen {
		fe = append(fe, apperr.FieldError{Field: "pushAck", Message: "must be at most 512 bytes"})
	}
	if req.CursorVersion == nil || *req.CursorVersion < 0 || *req.CursorVersion > maxCursorVersion {
		fe = append(fe, apperr.FieldError{Field: "cursorVersion", Message: "is required, an integer from 0 to 2^53-1"})
	}
	if len(fe) > 0 {
		return SyncResult{}, nil, note, apperr.Validation(fe...)
	}
	prop, err := s.deviceProperty(ctx, a)
	note.PropertyID = prop
	if err != nil {
		return SyncResult{}, nil, note, err
	}
	c, err := sync.Handshake(ctx, a.TenantID, prop, a.DeviceID, syncsvc.Handshake{PullCursor: req.PullCursor, PushAck: req.PushAck, CursorVersion: *req.CursorVersion})
	if errors.Is(err, httpc.ErrConflict) {
		return SyncResult{}, nil, note, apperr.Wrap(apperr.VersionConflict, err, "sync-service holds a newer cursor; refresh it (POST /v1/sync/cursor) and retry")
	}
	if err != nil {
		return SyncResult{}, nil, note, err
	}
	res, evs, err := s.storeCursor(ctx, a, prop, c, true)
	if err != nil {
		return SyncResult{}, nil, note, err
	}
	done, err := events.New(events.SyncHandshakeCompleted, a.TenantID, prop, map[string]any{
		"deviceId": a.DeviceID, "operatorId": a.OperatorID, "cursorVersion": c.CursorVersion, "outcome": "success",
	})
	if err == nil {
		evs = append(evs, done)
	}
	return res, evs, note, nil
}

// deviceProperty is the property the device last reported on, else the
// session's default: sync-service's routes are property-scoped. A deleted
// device is 404.
func (s *Service) deviceProperty(ctx context.Context, a actor.Actor) (string, error) {
	var (
		prop    *string
		deleted bool
	)
	err := s.d.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT property_id, deleted_at IS NOT NULL FROM bff.device_sync WHERE device_id = $1`, a.DeviceID).Scan(&prop, &deleted)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		return "", err
	case deleted:
		return "", errDeleted
	case prop != nil && a.InScope(*prop):
		return *prop, nil
	}
	if p := a.DefaultProperty(); p != "" {
		return p, nil
	}
	return "", apperr.New(apperr.NoPropertyScope, "the session has no property")
}

// storeCursor stores c as the device's cursor when its version is higher
// than the stored one (compare-and-set in the statement), and returns the
// stored cursor either way.
func (s *Service) storeCursor(ctx context.Context, a actor.Actor, prop string, c syncsvc.Cursor, handshake bool) (SyncResult, []events.Envelope, error) {
	now := s.d.Now().UTC()
	var hs *time.Time
	if handshake {
		hs = &now
	}
	res := SyncResult{DeviceID: a.DeviceID}
	var prevVersion *int64
	err := s.d.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		prevVersion = nil
		if err := tx.QueryRow(ctx, `SELECT cursor_version FROM bff.device_cursor WHERE device_id = $1`, a.DeviceID).Scan(&prevVersion); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		tag, err := tx.Exec(ctx, `
INSERT INTO bff.device_cursor AS c (tenant_id, device_id, pull_cursor, push_ack, cursor_version, server_timestamp, last_handshake_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (tenant_id, device_id) DO UPDATE SET
       pull_cursor = EXCLUDED.pull_cursor, push_ack = EXCLUDED.push_ack, cursor_version = EXCLUDED.cursor_version,
       server_timestamp = EXCLUDED.server_timestamp,
       last_handshake_at = COALESCE(EXCLUDED.last_handshake_at, c.last_handshake_at), updated_at = EXCLUDED.updated_at
 WHERE c.cursor_version < EXCLUDED.cursor_version`,
			a.TenantID, a.DeviceID, c.PullCursor, c.PushAck, c.CursorVersion, c.ServerTimestamp, hs, now)
		if err != nil {
			return err
		}
		res.Advanced = tag.RowsAffected() == 1
		if !res.Advanced && handshake {
			// The handshake happened even when its reply lost the race.
			if _, err := tx.Exec(ctx, `UPDATE bff.device_cursor SET last_handshake_at = greatest(last_handshake_at, $2), updated_at = $2 WHERE device_id = $1`, a.DeviceID, now); err != nil {
				return err
			}
		}
		var (
			sc time.Time
			lh *time.Time
		)
		err = tx.QueryRow(ctx, `SELECT pull_cursor, push_ack, cursor_version, server_timestamp, last_handshake_at FROM bff.device_cursor WHERE device_id = $1`, a.DeviceID).
			Scan(&res.LastCursor.PullCursor, &res.LastCursor.PushAck, &res.LastCursor.CursorVersion, &sc, &lh)
		res.LastCursor.ServerTimestamp = jsontime.Of(sc)
		if lh != nil {
			t := jsontime.Of(*lh)
			res.LastSyncHandshakeAt = &t
		}
		return err
	})
	if err != nil {
		return SyncResult{}, nil, err
	}
	var evs []events.Envelope
	if res.Advanced {
		from := int64(0)
		if prevVersion != nil {
			from = *prevVersion
		}
		ev, err := events.New(events.SyncCursorAdvanced, a.TenantID, prop, map[string]any{
			"deviceId": a.DeviceID, "fromVersion": from, "toVersion": c.CursorVersion,
		})
		if err == nil {
			evs = append(evs, ev)
		}
	}
	return res, evs, nil
}
