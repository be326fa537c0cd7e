package inbox

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/singleflight"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/outbox"
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
	return &Alerts{d: d, n: n, m: mirror{rdb: d.Redis, kind: "alertinbox", loaded: 5 * time.Minute}}
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
		return item{upstreamID: al.AlertID, entryID: alertEntryOf(tenantID, al).ID, json: b, ended: resolved}, err
	})
}

// Resolve records that an alert was resolved at t, even before it was
// raised here.
func (a *Alerts) Resolve(ctx context.Context, tenantID, propertyID, alertID string, t time.Time) (err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.Resolve(%s)", alertID)
	return a.m.end(ctx, tenantID, propertyID, alertID, t)
}

func (a *Alerts) load(ctx context.Context, tenantID, propertyID string) (snapshot, error) {
	return a.m.loadThrough(ctx, &a.sf, tenantID, propertyID, func() error {
		alerts, err := a.n.Alerts(ctx, tenantID, propertyID, notification.StatusAll)
		if err != nil {
			return err
		}
		return a.Put(ctx, tenantID, propertyID, alerts, true)
	})
}

func decodeAlert(ctx context.Context, raw string) (notification.Alert, bool) {
	return decodeItem[notification.Alert](ctx, "alert", raw)
}

// resolvedKeep is how long a resolved alert stays listed (status all).
const resolvedKeep = 7 * 24 * time.Hour

// List returns the property's alerts with the given status (open,
// acknowledged, resolved or all) for operatorID, newest first. Open means
// neither resolved nor acknowledged by the operator.
func (a *Alerts) List(ctx context.Context, tenantID, propertyID, operatorID, status string) (_ []AlertEntry, err error) {
	defer derrors.Wrap(&err, "inbox.Alerts.List(%s)", propertyID)
	snap, err := a.load(ctx, tenantID, propertyID)
	if err != nil {
		return nil, err
	}
	var (
		entries []AlertEntry
		upIDs   []string
		prune   []string
	)
	now := a.d.now()
	for id, raw := range snap.items {
		al, ok := decodeAlert(ctx, raw)
		if !ok {
			continue
		}
		e := alertEntryOf(tenantID, al)
		if t, ok := snap.ends[id]; ok {
			e.ResolvedAt = jsontime.Of(t)
			if now.Sub(t) > resolvedKeep {
				prune = append(prune, id)
				continue
			}
		}
		entries = append(entries, e)
		upIDs = append(upIDs, id)
	}
	acks, err := a.acks(ctx, tenantID, propertyID, operatorID, upIDs)
	if err != nil {
		return nil, err
	}
	out := make([]AlertEntry, 0, len(entries))
	for _, e := range entries {
		ack, acked := acks[e.AlertID]
		if acked {
			e.AcknowledgedAt, e.AcknowledgedBy, e.AcknowledgedDeviceID = jsontime.Of(ack.at), operatorID, ack.deviceID
		}
		switch {
		case !e.ResolvedAt.IsZero():
			e.Status = StatusResolved
		case acked:
			e.Status = StatusAcknowledged
		default:
			e.Status = StatusOpen
		}
		if status == StatusAll || status == e.Status {
			out = append(out, e)
		}
	}
	a.m.drop(ctx, tenantID, propertyID, prune)
	slices.SortFunc(out, func(x, y AlertEntry) int {
		return cmp.Or(y.RaisedAt.Compare(x.RaisedAt.Time), cmp.Compare(y.ID, x.ID))
	})
	return out, nil
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
	notFound := apperr.New(apperr.NotFound, "no alert %s", entryID)
	raw, resolved, ok, err := a.m.find(ctx, tenantID, entryID, scope, a.load)
	switch {
	case err != nil:
		return notification.Alert{}, err
	case !ok:
		return notification.Alert{}, notFound
	}
	al, ok := decodeAlert(ctx, raw)
	if !ok || alertEntryOf(tenantID, al).ID != entryID {
		return notification.Alert{}, notFound
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
// PROPERTY_OUT_OF_SCOPE when its property is not a's. Acknowledging a
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
	note.PropertyID = al.PropertyID
	if err := ac.CheckProperty("propertyId", al.PropertyID); err != nil {
		return AlertEntry{}, note, err
	}
	now := jsontime.Of(a.d.now())
	ev, err := events.New(events.AlertAcknowledged, ac.TenantID, al.PropertyID, ackedEvent{
		EntryID: aliID, AlertID: al.AlertID, Severity: al.Severity, Category: al.Category,
		OperatorID: ac.OperatorID, DeviceID: ac.DeviceID, AcknowledgedAt: now, Resolved: !al.ResolvedAt.IsZero(),
	})
	if err != nil {
		return AlertEntry{}, note, apperr.Wrap(apperr.Internal, err, "an internal error occurred")
	}
	err = a.d.DB.InTenantTx(ctx, ac.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO bff.alert_ack
			(id, tenant_id, property_id, alert_id, operator_id, device_id, session_id, acknowledged_at, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT DO NOTHING`,
			aliID, ac.TenantID, al.PropertyID, al.AlertID, ac.OperatorID, ac.DeviceID, ac.SessionID, now.Time, ac.RequestID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return apperr.New(apperr.AlertAlreadyAcked, "you already acknowledged this alert")
		}
		if err := activity.RecordTx(ctx, tx, ac, note); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, ev)
	})
	if err != nil {
		return AlertEntry{}, note, err
	}
	note.Recorded = true
	a.d.Relay.Send(ctx, ac.TenantID, ev)
	notify(ctx, a.d.Notify, ac.TenantID, al.PropertyID, TypeAlertInboxChanged,
		map[string]any{"propertyId": al.PropertyID, "entryId": aliID, "reason": "acknowledged", "operatorId": ac.OperatorID})
	e := alertEntryOf(ac.TenantID, al)
	e.Status = StatusAcknowledged
	if !e.ResolvedAt.IsZero() {
		e.Status = StatusResolved
	}
	e.AcknowledgedAt, e.AcknowledgedBy, e.AcknowledgedDeviceID = now, ac.OperatorID, ac.DeviceID
	return e, note, nil
}
