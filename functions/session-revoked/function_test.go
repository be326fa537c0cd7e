package sessionrevoked_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sessionrevoked "github.com/melmastoon/bff-backoffice/functions/session-revoked"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging/logtest"
	"github.com/melmastoon/bff-backoffice/shared/session"
	"github.com/melmastoon/bff-backoffice/shared/session/sessiontest"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func withData(ev events.Envelope, raw string) events.Envelope {
	ev.Data = []byte(raw)
	return ev
}

// An event that can never be applied (data that is not the payload, a
// malformed operator, device or session id) is poison: the handler says
// so (consume acknowledges it instead of having it redelivered) and
// revokes nothing. A well-formed one revokes the device's session and
// pushes forceLogout to it.
func TestRevocationPoisonAndIDs(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	sm := session.NewManager(rdb, sessiontest.NewFrontDesk(), session.Options{PIIKey: sessiontest.PIIKey})
	h := sessionrevoked.New(rdb, sm, events.Discard{})
	ctx := logtest.Context(context.Background(), t)

	iat := time.Now().Add(-time.Minute).Truncate(time.Second)
	p := auth.Principal{TenantID: ids.New(ids.Tenant), OperatorID: ids.New(ids.Operator), DeviceID: ids.New(ids.Device),
		TokenID: "jti-1", IssuedAt: iat, ExpiresAt: iat.Add(time.Hour)}
	s, _, err := sm.Resolve(ctx, p, "", session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	event := func(data any) events.Envelope {
		t.Helper()
		ev, err := events.New(events.IAMSessionRevoked, p.TenantID, "", data)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	poison := map[string]events.Envelope{
		"data not an object":       withData(event(map[string]string{}), `["op"]`),
		"unknown field type":       event(map[string]any{"operatorId": 7}),
		"no operator":              event(map[string]string{"deviceId": p.DeviceID}),
		"operator malformed":       event(map[string]string{"operatorId": "op_nope"}),
		"operator of another kind": event(map[string]string{"operatorId": p.DeviceID}),
		"device malformed":         event(map[string]string{"operatorId": p.OperatorID, "deviceId": "dev_nope"}),
		"device of another kind":   event(map[string]string{"operatorId": p.OperatorID, "deviceId": p.OperatorID}),
		"session malformed":        event(map[string]string{"operatorId": p.OperatorID, "sessionId": "bos_nope"}),
	}
	for name, ev := range poison {
		if err := h(ctx, ev); !errors.Is(err, consume.ErrPoison) {
			t.Errorf("%s: %v, want poison", name, err)
		}
	}
	if _, _, err := sm.Resolve(ctx, p, s.ID, session.Client{}); err != nil {
		t.Fatalf("after poison events the session = %v, want it untouched", err)
	}
	if n, err := rdb.XLen(ctx, devicestream.Key(rdb, p.TenantID, p.DeviceID)).Result(); err != nil || n != 0 {
		t.Fatalf("device stream holds %d entries (%v) after poison events, want 0", n, err)
	}

	ok := event(map[string]string{"operatorId": p.OperatorID, "deviceId": p.DeviceID, "reason": "device_lost"})
	ok.OccurredAt = jsontime.Of(time.Now())
	if err := h(ctx, ok); err != nil {
		t.Fatalf("well-formed revocation: %v", err)
	}
	_, _, err = sm.Resolve(ctx, p, s.ID, session.Client{})
	if apperr.CodeOf(err) != apperr.SessionRevoked {
		t.Fatalf("after the revocation the session = %v, want %s", err, apperr.SessionRevoked)
	}
	msgs, err := rdb.XRange(ctx, devicestream.Key(rdb, p.TenantID, p.DeviceID), "-", "+").Result()
	if err != nil || len(msgs) != 1 || msgs[0].Values["type"] != devicestream.TypeForceLogout {
		t.Fatalf("device stream = %v (%v), want one forceLogout", msgs, err)
	}
}
