package session

import (
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
)

// OpenedEvent is session.opened.v1 for s.
func OpenedEvent(s *Session) (events.Envelope, error) {
	return events.New(events.SessionOpened, s.TenantID, s.DefaultProperty(), sessionEventData(s, ""))
}

// ClosedEvent is session.closed.v1 for s.
func ClosedEvent(s *Session) (events.Envelope, error) {
	return events.New(events.SessionClosed, s.TenantID, s.DefaultProperty(), sessionEventData(s, s.EndReason))
}

type sessionEvent struct {
	SessionID     string         `json:"sessionId"`
	OperatorID    string         `json:"operatorId"`
	DeviceID      string         `json:"deviceId"`
	PropertyScope []string       `json:"propertyScope"`
	Roles         []string       `json:"roles"`
	AppVersion    string         `json:"appVersion,omitempty"`
	AppPlatform   string         `json:"appPlatform,omitempty"`
	OpenedAt      jsontime.Time  `json:"openedAt"`
	EndedAt       *jsontime.Time `json:"endedAt,omitempty"`
	Reason        string         `json:"reason,omitempty"`
}

func sessionEventData(s *Session, reason string) sessionEvent {
	d := sessionEvent{
		SessionID: s.ID, OperatorID: s.OperatorID, DeviceID: s.DeviceID,
		PropertyScope: s.PropertyScope, Roles: s.Roles,
		AppVersion: s.AppVersion, AppPlatform: s.AppPlatform, OpenedAt: s.OpenedAt, Reason: reason,
	}
	if !s.EndedAt.IsZero() {
		e := s.EndedAt
		d.EndedAt = &e
	}
	return d
}
