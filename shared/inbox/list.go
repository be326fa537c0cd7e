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

// List is an inbox as read: the property, the status asked for and the
// entries.
type List[E any] struct {
	PropertyID string `json:"propertyId"`
	Status     string `json:"status"`
	Items      []E    `json:"items"`
}

// read is an inbox read by a: the property (propertyID, else a's default;
// it must be in a's scope), the status among allowed (empty: open), the
// entries list gives for them, and the read's activity note.
func read[E any](a actor.Actor, action, propertyID, status string, allowed []string, list func(propertyID, status string) ([]E, error)) (List[E], activity.Note, error) {
	note := activity.Note{Category: activity.CategoryView, Action: action}
	p, err := a.Property("propertyId", propertyID)
	if err != nil {
		return List[E]{}, note, err
	}
	note.PropertyID = p
	st, err := checkStatus(status, allowed...)
	if err != nil {
		return List[E]{}, note, err
	}
	items, err := list(p, st)
	if err != nil {
		return List[E]{}, note, err
	}
	return List[E]{PropertyID: p, Status: st, Items: items}, note, nil
}

// Inbox is a's AI inbox of propertyID (empty: a's default property) with
// the given status (empty: open; else open, decided or all).
func (s *Suggestions) Inbox(ctx context.Context, a actor.Actor, propertyID, status string) (_ SuggestionList, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Suggestions.Inbox")
	return read(a, activity.ActionAIInboxViewed, propertyID, status, []string{StatusOpen, StatusDecided, StatusAll},
		func(p, st string) ([]SuggestionEntry, error) { return s.List(ctx, a.TenantID, p, st) })
}

// Inbox is a's alert inbox of propertyID (empty: a's default property)
// with the given status (empty: open; else open, acknowledged, resolved or
// all), acknowledgements as a's.
func (a *Alerts) Inbox(ctx context.Context, ac actor.Actor, propertyID, status string) (_ AlertList, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.Inbox")
	return read(ac, activity.ActionAlertInboxViewed, propertyID, status, []string{StatusOpen, StatusAcknowledged, StatusResolved, StatusAll},
		func(p, st string) ([]AlertEntry, error) { return a.List(ctx, ac.TenantID, p, ac.OperatorID, st) })
}
