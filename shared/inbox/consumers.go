package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/events/consume"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream/aiorchestrator"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
	"github.com/melmastoon/bff-backoffice/shared/upstream/wire"
)

// The consumers below are applied through consume.Handler, which skips an
// event id already processed; they are also order-independent on their
// own: items and their ends are kept apart and only added (see mirror), so
// a duplicate or a resolution that overtakes its alert leaves the state
// that applying the events once, in order, would.

// checkProperty refuses an event whose envelope and data name different
// properties: which one to trust cannot be known.
func checkProperty(ev events.Envelope, propertyID string) error {
	if !ids.Valid(ids.Property, propertyID) {
		return fmt.Errorf("%w: data.propertyId is not a property id", consume.ErrPoison)
	}
	if ev.PropertyID != "" && ev.PropertyID != propertyID {
		return fmt.Errorf("%w: envelope propertyId %s and data propertyId %s differ", consume.ErrPoison, ev.PropertyID, propertyID)
	}
	return nil
}

// Created consumes melmastoon.ai.suggestion.created.v1.
func (s *Suggestions) Created() consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		sg, err := aiorchestrator.DecodeSuggestion(ctx, ev.Data)
		if err != nil {
			return fmt.Errorf("%w: %v", consume.ErrPoison, err)
		}
		if err := checkProperty(ev, sg.PropertyID); err != nil {
			return err
		}
		if err := s.Put(ctx, ev.TenantID, sg.PropertyID, []aiorchestrator.Suggestion{sg}, false); err != nil {
			return err
		}
		if sg.Displayable() {
			s.notify(ctx, ev.TenantID, sg.PropertyID, map[string]any{"propertyId": sg.PropertyID, "entryId": entryOf(ev.TenantID, sg).ID, "reason": "created", "category": sg.Category})
		}
		return nil
	}
}

// Invalidated consumes melmastoon.ai.suggestion.invalidated.v1.
func (s *Suggestions) Invalidated() consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		var d struct {
			SuggestionID string `json:"suggestionId"`
			PropertyID   string `json:"propertyId"`
			Reason       string `json:"reason"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || !wire.ValidOpaqueID(d.SuggestionID) {
			return fmt.Errorf("%w: data must be {suggestionId, propertyId, reason?}", consume.ErrPoison)
		}
		if err := checkProperty(ev, d.PropertyID); err != nil {
			return err
		}
		if err := s.Invalidate(ctx, ev.TenantID, d.PropertyID, d.SuggestionID, ev.OccurredAt.Time); err != nil {
			return err
		}
		s.notify(ctx, ev.TenantID, d.PropertyID, map[string]any{"propertyId": d.PropertyID, "suggestionId": d.SuggestionID, "reason": "invalidated"})
		return nil
	}
}

// Raised consumes melmastoon.notification.alert.raised.v1.
func (a *Alerts) Raised() consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		al, err := notification.DecodeAlert(ctx, ev.Data)
		if err != nil {
			return fmt.Errorf("%w: %v", consume.ErrPoison, err)
		}
		if err := checkProperty(ev, al.PropertyID); err != nil {
			return err
		}
		if err := a.Put(ctx, ev.TenantID, al.PropertyID, []notification.Alert{al}, false); err != nil {
			return err
		}
		notify(ctx, a.d.Notify, ev.TenantID, al.PropertyID, TypeAlertInboxChanged,
			map[string]any{"propertyId": al.PropertyID, "entryId": alertEntryOf(ev.TenantID, al).ID, "reason": "raised", "severity": al.Severity, "category": al.Category})
		return nil
	}
}

// Resolved consumes melmastoon.notification.alert.resolved.v1.
func (a *Alerts) Resolved() consume.Func {
	return func(ctx context.Context, ev events.Envelope) error {
		var d struct {
			AlertID    string `json:"alertId"`
			PropertyID string `json:"propertyId"`
			ResolvedAt string `json:"resolvedAt"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || !wire.ValidOpaqueID(d.AlertID) {
			return fmt.Errorf("%w: data must be {alertId, propertyId, resolvedAt}", consume.ErrPoison)
		}
		if err := checkProperty(ev, d.PropertyID); err != nil {
			return err
		}
		at, ok := wire.Instant(d.ResolvedAt)
		if !ok {
			// The resolution is the fact that matters; when it happened
			// is the envelope's best guess.
			at = jsontime.Of(ev.OccurredAt.Time)
		}
		if at.After(time.Now().Add(time.Minute)) {
			at = jsontime.Of(ev.OccurredAt.Time)
		}
		if err := a.Resolve(ctx, ev.TenantID, d.PropertyID, d.AlertID, at.Time); err != nil {
			return err
		}
		notify(ctx, a.d.Notify, ev.TenantID, d.PropertyID, TypeAlertInboxChanged,
			map[string]any{"propertyId": d.PropertyID, "alertId": d.AlertID, "reason": "resolved"})
		return nil
	}
}
