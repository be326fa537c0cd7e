package syncsvc

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// Cursor is a device's sync cursor as sync-service, its authority, holds
// it. Pull cursor and push ack are opaque to the BFF.
type Cursor struct {
	PullCursor      string    `json:"pullCursor"`
	PushAck         string    `json:"pushAck"`
	CursorVersion   int64     `json:"cursorVersion"`
	ServerTimestamp time.Time `json:"serverTimestamp"`
}

// Handshake is what a device sends sync-service through the BFF.
type Handshake struct {
	PullCursor    string `json:"pullCursor"`
	PushAck       string `json:"pushAck"`
	CursorVersion int64  `json:"cursorVersion"`
}

// MaxCursorLen bounds the opaque strings of a cursor.
const MaxCursorLen = 512

type cursorDoc struct {
	PullCursor      string `json:"pullCursor"`
	PushAck         string `json:"pushAck"`
	CursorVersion   int64  `json:"cursorVersion"`
	ServerTimestamp string `json:"serverTimestamp"`
}

// DeviceCursor asks sync-service for the device's cursor. Errors as
// DevicesStatus's; an answer with a negative version, over-long strings
// or no usable serverTimestamp is UPSTREAM_UNAVAILABLE.
func (c *Client) DeviceCursor(ctx context.Context, tenantID, propertyID, deviceID string) (Cursor, error) {
	return c.send(ctx, "syncsvc.DeviceCursor", tenantID, propertyID, deviceID, "cursor", struct{}{})
}

// Handshake forwards a device's handshake and returns its new cursor. A
// version sync-service holds as stale is an error matching
// httpc.ErrConflict.
func (c *Client) Handshake(ctx context.Context, tenantID, propertyID, deviceID string, h Handshake) (Cursor, error) {
	return c.send(ctx, "syncsvc.Handshake", tenantID, propertyID, deviceID, "handshake", h)
}

func (c *Client) send(ctx context.Context, op, tenantID, propertyID, deviceID, what string, body any) (Cursor, error) {
	if err := wire.CheckProperty(tenantID, propertyID); err != nil {
		return Cursor{}, err
	}
	if err := ids.Check(ids.Device, deviceID); err != nil {
		return Cursor{}, fmt.Errorf("%s: deviceId: %w", op, err)
	}
	var doc cursorDoc
	if err := c.http.SendJSON(ctx, op, http.MethodPost, wire.PropertyPath(tenantID, propertyID, "devices", deviceID, what), body, &doc); err != nil {
		return Cursor{}, err
	}
	at, ok := wire.Instant(doc.ServerTimestamp)
	if doc.CursorVersion < 0 || len(doc.PullCursor) > MaxCursorLen || len(doc.PushAck) > MaxCursorLen || !ok {
		return Cursor{}, c.http.Unavailable(op, "unusable cursor (version %d)", doc.CursorVersion)
	}
	return Cursor{PullCursor: doc.PullCursor, PushAck: doc.PushAck, CursorVersion: doc.CursorVersion, ServerTimestamp: at.Time}, nil
}
