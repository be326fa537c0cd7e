package devices

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// Query is a device list request as read off the URL.
type Query struct {
	PropertyID string
	Limit      string
	Cursor     string
}

// List is the property's devices, by device id, a page at a time: every
// device that reported there and is not deleted, with its status derived
// now. Everyone may read the property's devices; the property must be in
// a's scope.
func (s *Service) List(ctx context.Context, a actor.Actor, q Query) (_ listcursor.Page[Status], _ activity.Note, err error) {
	defer derrors.Wrap(&err, "devices.List")
	note := activity.Note{Category: activity.CategoryView, Action: activity.ActionDevicesViewed}
	prop, err := a.Property("propertyId", q.PropertyID)
	if err != nil {
		return listcursor.Page[Status]{}, note, err
	}
	note.PropertyID = prop
	limit, err := listcursor.Limit(q.Limit)
	if err != nil {
		return listcursor.Page[Status]{}, note, err
	}
	binding := listcursor.Binding{List: "devices", TenantID: a.TenantID, Filters: []string{"propertyId", prop}}
	after := ""
	if q.Cursor != "" {
		pos, err := s.d.Cursors.Decode(binding, q.Cursor)
		if err != nil {
			return listcursor.Page[Status]{}, note, err
		}
		after = pos.ID
	}
	var items []Status
	err = s.d.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+columns+` FROM bff.device_sync d
 WHERE d.property_id = $1 AND d.deleted_at IS NULL AND d.device_id > $2
 ORDER BY d.device_id LIMIT $3`, prop, after, limit+1)
		if err != nil {
			return err
		}
		items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Status, error) { return scanStatus(r) })
		return err
	})
	if err != nil {
		return listcursor.Page[Status]{}, note, err
	}
	page := listcursor.Page[Status]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = s.d.Cursors.Encode(binding, listcursor.Position{ID: page.Items[limit-1].DeviceID})
	}
	if page.Items == nil {
		page.Items = []Status{}
	}
	open, err := s.sessionsOpen(ctx, page.Items)
	if err != nil {
		return listcursor.Page[Status]{}, note, err
	}
	now := s.d.Now()
	for i := range page.Items {
		page.Items[i].Status = derive(page.Items[i], now, open[i])
	}
	return page, note, nil
}

// sessionsOpen reports, for each status, whether the session of its last
// heartbeat is still open: one pipelined round trip for the page.
func (s *Service) sessionsOpen(ctx context.Context, sts []Status) ([]bool, error) {
	out := make([]bool, len(sts))
	if len(sts) == 0 {
		return out, nil
	}
	pipe := s.d.Redis.Pipeline()
	cmds := make([]*redis.StringCmd, len(sts))
	for i, st := range sts {
		cmds[i] = pipe.Get(ctx, s.d.Redis.KeyNames().Session(st.SessionID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, apperr.Unavailable(err, "session store")
	}
	for i, c := range cmds {
		v, err := c.Result()
		if err != nil {
			continue // gone: expired past its TTL
		}
		var s struct {
			State session.State `json:"state"`
		}
		if json.Unmarshal([]byte(v), &s) == nil && s.State == session.StateOpen {
			out[i] = true
		}
	}
	return out, nil
}

// Hints is "N actions pending on your other device": the latest pending
// summary of each of a's operator's other devices in the tenant, reported
// within HintRetention and not empty. Another operator's devices never
// show, whatever a's roles.
func (s *Service) Hints(ctx context.Context, a actor.Actor) (_ Hints, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "devices.Hints")
	note := activity.Note{Category: activity.CategoryView, Action: activity.ActionDeviceHintsViewed}
	since := s.d.Now().Add(-HintRetention)
	var out []Hint
	err = s.d.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT device_id, pending_reported_at, pending FROM bff.device_sync
 WHERE operator_id = $1 AND device_id <> $2 AND deleted_at IS NULL
   AND pending_reported_at >= $3 AND jsonb_array_length(pending) > 0
 ORDER BY pending_reported_at DESC, device_id LIMIT $4`, a.OperatorID, a.DeviceID, since, listcursor.MaxLimit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Hint, error) {
			var (
				h   Hint
				at  time.Time
				raw []byte
			)
			if err := r.Scan(&h.DeviceID, &at, &raw); err != nil {
				return Hint{}, err
			}
			h.ReportedAt = jsontime.Of(at)
			return h, json.Unmarshal(raw, &h.Pending)
		})
		return err
	})
	if err != nil {
		return Hints{}, note, err
	}
	if out == nil {
		out = []Hint{}
	}
	return Hints{Items: out}, note, nil
}
