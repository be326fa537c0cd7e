package inbox

import (
	"context"
	"slices"
	"strings"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

// checkStatus reads a requested status (empty: open) among allowed.
func checkStatus(v string, allowed ...string) (string, error) {
	if v == "" {
		return StatusOpen, nil
	}
	if slices.Contains(allowed, v) {
		return v, nil
	}
	return "", apperr.Validation(apperr.FieldError{Field: "status", Message: "must be one of " + strings.Join(allowed, ", ")})
}

// viewNote resolves the property an inbox read is about (propertyID, else
// a's default; it must be in a's scope) and the read's activity note.
func viewNote(a actor.Actor, action, propertyID string) (string, activity.Note, error) {
	note := activity.Note{Category: activity.CategoryView, Action: action}
	p, err := a.Property("propertyId", propertyID)
	if err != nil {
		return "", note, err
	}
	note.PropertyID = p
	return p, note, nil
}

// Inbox is a's AI inbox of propertyID (empty: a's default property) with
// the given status (empty: open; else open, decided or all).
func (s *Suggestions) Inbox(ctx context.Context, a actor.Actor, propertyID, status string) (_ SuggestionList, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Suggestions.Inbox")
	p, note, err := viewNote(a, activity.ActionAIInboxViewed, propertyID)
	if err != nil {
		return SuggestionList{}, note, err
	}
	st, err := checkStatus(status, StatusOpen, StatusDecided, StatusAll)
	if err != nil {
		return SuggestionList{}, note, err
	}
	items, err := s.List(ctx, a.TenantID, p, st)
	if err != nil {
		return SuggestionList{}, note, err
	}
	return SuggestionList{PropertyID: p, Status: st, Items: items}, note, nil
}

// Inbox is a's alert inbox of propertyID (empty: a's default property)
// with the given status (empty: open; else open, acknowledged, resolved or
// all), acknowledgements as a's.
func (a *Alerts) Inbox(ctx context.Context, ac actor.Actor, propertyID, status string) (_ AlertList, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.Inbox")
	p, note, err := viewNote(ac, activity.ActionAlertInboxViewed, propertyID)
	if err != nil {
		return AlertList{}, note, err
	}
	st, err := checkStatus(status, StatusOpen, StatusAcknowledged, StatusResolved, StatusAll)
	if err != nil {
		return AlertList{}, note, err
	}
	items, err := a.List(ctx, ac.TenantID, p, ac.OperatorID, st)
	if err != nil {
		return AlertList{}, note, err
	}
	return AlertList{PropertyID: p, Status: st, Items: items}, note, nil
}
