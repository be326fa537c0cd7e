package inbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/singleflight"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/upstream/notification"
)

// Alert inbox statuses, from the requesting operator's point of view:
// acknowledgements are per operator, so an alert one
// operator acknowledged is still open in a colleague's inbox.
const (
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// AlertEntry is an AlertInboxEntry; the acknowledged* fields are the
// requesting operator's acknowledgement.
type AlertEntry struct {
	ID                   string                `json:"id"`
	AlertID              string                `json:"alertId"`
	TenantID             string                `json:"tenantId"`
	PropertyID           string                `json:"propertyId"`
	Severity             notification.Severity `json:"severity"`
	Category             notification.Category `json:"category"`
	RaisedAt             jsontime.Time         `json:"raisedAt"`
	ResolvedAt           jsontime.Time         `json:"resolvedAt,omitzero"`
	Status               string                `json:"status"`
	AcknowledgedAt       jsontime.Time         `json:"acknowledgedAt,omitzero"`
	AcknowledgedBy       string                `json:"acknowledgedBy,omitempty"`
	AcknowledgedDeviceID string                `json:"acknowledgedDeviceId,omitempty"`
	Payload              json.RawMessage       `json:"payload"`
}

// AlertList is GET /v1/alerts.
type AlertList = List[AlertEntry]

// Alerts is the alert inbox. One per instance.
type Alerts struct {
	d  Deps
	n  *notification.Client
	m  mirror
	sf singleflight.Group
}

// NewAlerts returns the inbox over d and notification-service's client n
// (nil for functions that only apply events).
func NewAlerts(d Deps, n *notification.Client) *Alerts {
	a := &Alerts{d: d, n: n}
	a.m = alertKind.mirror(d.Redis, "alertinbox", a.d.now)
	return a
}

// alertKind is notification-service's alerts to the inbox machinery.
var alertKind = itemKind[notification.Alert]{
	name: "alert",
	categories: []string{
		string(notification.CategoryOversold), string(notification.CategoryNoShow), string(notification.CategoryPaymentFailed),
		string(notification.CategoryLockFailed), string(notification.CategorySyncLag), string(notification.CategoryDeviceOffline),
		string(notification.CategorySecurity), string(notification.CategoryOther),
	},
	known:  func(c string) bool { return notification.Category(c).Valid() },
	other:  string(notification.CategoryOther),
	rights: access.Alert,
	describe: func(tenantID string, al notification.Alert) (string, string) {
		return alertEntryOf(tenantID, al).ID, string(al.Category)
	},
}

func alertEntryOf(tenantID string, a notification.Alert) AlertEntry {
	return AlertEntry{
		ID: EntryID(ids.Alert, tenantID, a.AlertID, a.RaisedAt.Time), AlertID: a.AlertID, TenantID: tenantID,
		PropertyID: a.PropertyID, Severity: a.Severity, Category: a.Category, RaisedAt: a.RaisedAt,
		ResolvedAt: a.ResolvedAt, Payload: a.Payload,
	}
}

// Put mirrors alerts of a property. The resolution of a resolved alert is
// kept apart from it, so a later copy of the raised alert cannot reopen it.
func (a *Alerts) Put(ctx context.Context, tenantID, propertyID string, alerts []notification.Alert, loaded bool) (err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.Put(%s)", propertyID)
	return putItems(ctx, a.m, tenantID, propertyID, alerts, loaded, func(al notification.Alert) (item, error) {
		resolved := al.ResolvedAt.Time
		al.ResolvedAt = jsontime.Time{}
		b, err := json.Marshal(al)
		return item{upstreamID: al.AlertID, entryID: alertEntryOf(tenantID, al).ID, category: string(al.Category), json: b,
			ended: resolved, leaves: a.d.now().Add(openKeep)}, err
	})
}

// Resolve records that an alert was resolved at t, even before it was
// raised here.
func (a *Alerts) Resolve(ctx context.Context, tenantID, propertyID, alertID string, t time.Time) (err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.Resolve(%s)", alertID)
	return a.m.end(ctx, tenantID, propertyID, alertID, t)
}

func (a *Alerts) load(ctx context.Context, tenantID, propertyID string) error {
	return loadThrough(ctx, a.m, &a.sf, tenantID, propertyID, func() ([]notification.Alert, error) {
		return a.n.Alerts(ctx, tenantID, propertyID, notification.StatusAll)
	}, a.Put)
}

// page reads one page of ac's alert inbox as r asks: alerts of the
// categories ac may see, with ac's acknowledgements, in r.status. Open
// means neither resolved nor acknowledged by ac. A resolved alert past
// ResolvedKeep is not listed, whether or not a write has pruned it yet.
func (a *Alerts) page(ctx context.Context, ac actor.Actor, r pageReq) ([]AlertEntry, string, error) {
	if err := a.load(ctx, ac.TenantID, r.propertyID); err != nil {
		return nil, "", err
	}
	now := a.d.now()
	return walk(ctx, a.m, ac.TenantID, r, func(batch []stored) ([]AlertEntry, error) {
		entries, upIDs := listed(ctx, alertKind, ac.TenantID, batch, ac.Roles, func(st stored, al notification.Alert) (AlertEntry, bool) {
			e := alertEntryOf(ac.TenantID, al)
			if !st.ended.IsZero() {
				if now.Sub(st.ended) > ResolvedKeep {
					return e, false
				}
				e.ResolvedAt = jsontime.Of(st.ended)
			}
			return e, true
		})
		acks, err := a.acks(ctx, ac.TenantID, r.propertyID, ac.OperatorID, upIDs)
		if err != nil {
			return nil, err
		}
		out := make([]AlertEntry, 0, len(entries))
		for _, e := range entries {
			ack, acked := acks[e.AlertID]
			if acked {
				e.AcknowledgedAt, e.AcknowledgedBy, e.AcknowledgedDeviceID = jsontime.Of(ack.at), ac.OperatorID, ack.deviceID
			}
			switch {
			case !e.ResolvedAt.IsZero():
				e.Status = StatusResolved
			case acked:
				e.Status = StatusAcknowledged
			default:
				e.Status = StatusOpen
			}
			if r.status == StatusAll || r.status == e.Status {
				out = append(out, e)
			}
		}
		return out, nil
	}, func(e AlertEntry) string { return e.ID })
}

type ackRow struct {
	at       time.Time
	deviceID string
}

func (a *Alerts) acks(ctx context.Context, tenantID, propertyID, operatorID string, alertIDs []string) (map[string]ackRow, error) {
	return rowsOf(ctx, a.d.DB, tenantID, "acks", `SELECT alert_id, acknowledged_at, device_id FROM bff.alert_ack
			WHERE tenant_id = $1 AND property_id = $2 AND operator_id = $3 AND alert_id = ANY($4)`, alertIDs,
		func(rows pgx.Rows) (id string, r ackRow, err error) {
			err = rows.Scan(&id, &r.at, &r.deviceID)
			return id, r, err
		}, tenantID, propertyID, operatorID)
}

func (a *Alerts) find(ctx context.Context, tenantID, entryID string, scope []string) (notification.Alert, error) {
	al, resolved, ok, err := alertKind.find(ctx, a.m, tenantID, entryID, scope, a.load)
	switch {
	case err != nil:
		return notification.Alert{}, err
	case !ok:
		return notification.Alert{}, apperr.New(apperr.NotFound, "no alert %s", entryID)
	}
	if !resolved.IsZero() {
		al.ResolvedAt = jsontime.Of(resolved)
	}
	return al, nil
}

// ackedEvent is the data of alert.acknowledged.v1.
type ackedEvent struct {
	EntryID        string                `json:"entryId"`
	AlertID        string                `json:"alertId"`
	Severity       notification.Severity `json:"severity"`
	Category       notification.Category `json:"category"`
	OperatorID     string                `json:"operatorId"`
	DeviceID       string                `json:"deviceId"`
	AcknowledgedAt jsontime.Time         `json:"acknowledgedAt"`
	Resolved       bool                  `json:"alertResolved"`
}

// Ack records a's acknowledgement of entry aliID, once per operator: the
// entry; 409 ALERT_ALREADY_ACKED when this operator already acknowledged
// it (on any device); 404 when the inbox does not know it; 403
// PROPERTY_OUT_OF_SCOPE when its property is not a's, 403 FORBIDDEN_ROLE
// when a's roles may not see its category. Acknowledging a
// resolved alert is allowed: the operator saw it. The acknowledgement, its
// activity row and its event commit in one transaction (the returned note
// is then Recorded); on failure the note is returned unrecorded.
func (a *Alerts) Ack(ctx context.Context, ac actor.Actor, aliID string) (_ AlertEntry, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.Ack(%s)", aliID)
	note := activity.Note{Category: activity.CategoryAlertAck, Action: activity.ActionAlertAcknowledge, Resource: &activity.Ref{Kind: "alert", ID: aliID}}
	if err := ids.Check(ids.Alert, aliID); err != nil {
		return AlertEntry{}, note, apperr.Validation(apperr.FieldError{Field: "aliId", Message: err.Error()})
	}
	al, err := a.find(ctx, ac.TenantID, aliID, ac.PropertyScope)
	if err != nil {
		return AlertEntry{}, note, err
	}
	// Acknowledging needs the rights that seeing it needs.
	if err := alertKind.authorize(ac, &note, al.PropertyID, string(al.Category)); err != nil {
		return AlertEntry{}, note, err
	}
	now := jsontime.Of(a.d.now())
	err = a.d.commit(ctx, ac, &note, events.AlertAcknowledged, al.PropertyID, ackedEvent{
		EntryID: aliID, AlertID: al.AlertID, Severity: al.Severity, Category: al.Category,
		OperatorID: ac.OperatorID, DeviceID: ac.DeviceID, AcknowledgedAt: now, Resolved: !al.ResolvedAt.IsZero(),
	}, func(ctx context.Context, tx pgx.Tx) error {
		return insertOnce(ctx, tx, apperr.New(apperr.AlertAlreadyAcked, "you already acknowledged this alert"), `INSERT INTO bff.alert_ack
			(id, tenant_id, property_id, alert_id, operator_id, device_id, session_id, acknowledged_at, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT DO NOTHING`,
			aliID, ac.TenantID, al.PropertyID, al.AlertID, ac.OperatorID, ac.DeviceID, ac.SessionID, now.Time, ac.RequestID)
	})
	if err != nil {
		return AlertEntry{}, note, err
	}
	notify(ctx, a.d.Notify, ac.TenantID, al.PropertyID, TypeAlertInboxChanged,
		map[string]any{"propertyId": al.PropertyID, "entryId": aliID, "reason": "acknowledged", "operatorId": ac.OperatorID, "category": al.Category})
	e := alertEntryOf(ac.TenantID, al)
	e.Status = StatusAcknowledged
	if !e.ResolvedAt.IsZero() {
		e.Status = StatusResolved
	}
	e.AcknowledgedAt, e.AcknowledgedBy, e.AcknowledgedDeviceID = now, ac.OperatorID, ac.DeviceID
	return e, note, nil
}
