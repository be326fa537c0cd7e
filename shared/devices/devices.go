// Package devices is the desktops' side of the BFF: heartbeats
// (DeviceSyncStatus with its OfflineActionQueueHint), the property's device
// list with a status derived when read, and the "actions pending on your
// other device" hints.
//
// Where things live, and why:
//   - Postgres (bff.device_sync, RLS forced) is the record. A heartbeat is a
//     single conditional upsert, so the database, not a read-then-write in
//     Go, decides that an older heartbeat never overwrites a newer one and
//     that nothing comes back after the device's tombstone. Lists page it by
//     keyset; heartbeat-sweeper finds silent devices in it.
//   - Redis holds a hot copy of each device's latest status (DeviceStatus
//     key, compare-and-set on the ordering key so a slower writer never puts
//     an older copy back). A repeated or late heartbeat is answered from it
//     without a Postgres write, and single-device readers get it in one
//     round trip. It is a cache: losing it loses nothing.
//
// Like the inboxes, the package takes a plain actor.Actor and returns the
// activity note of what it did; it knows nothing of HTTP.
package devices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/listcursor"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// Status thresholds: a device is online when its last heartbeat is younger
// than OnlineWithin, idle below OfflineAfter, offline from then on.
const (
	OnlineWithin = time.Minute
	OfflineAfter = 5 * time.Minute
	// HintRetention is how long a pending summary stays visible.
	HintRetention = 7 * 24 * time.Hour
	// MaxPending bounds a heartbeat's pending summary.
	MaxPending = 50
	// futureSkew is how far ahead of the server a heartbeat's sentAt may
	// be: a clock further ahead would pin the device's ordering key in the
	// future and make every later heartbeat look old.
	futureSkew = time.Minute
)

// Derived statuses.
const (
	StatusOnline       = "online"
	StatusIdle         = "idle"
	StatusOffline      = "offline"
	StatusStaleSession = "stale_session"
)

// Pending is one aggregate of a device's offline action queue.
type Pending struct {
	Aggregate        string `json:"aggregate"`
	Count            int    `json:"count"`
	OldestAgeSeconds int    `json:"oldestAgeSeconds"`
}

// Heartbeat is the body of POST /v1/devices/heartbeat: every field may be
// left out (PATCH semantics), and what is left out keeps its stored value.
type Heartbeat struct {
	PropertyID       *string        `json:"propertyId,omitempty"`
	SentAt           *jsontime.Time `json:"sentAt,omitempty"`
	AppVersion       *string        `json:"appVersion,omitempty"`
	AppPlatform      *string        `json:"appPlatform,omitempty"`
	InstallerChannel *string        `json:"installerChannel,omitempty"`
	NetworkProfile   *string        `json:"networkProfile,omitempty"`
	Pending          *[]Pending     `json:"pending,omitempty"`
}

// PendingHint is the summary DeviceSyncStatus carries.
type PendingHint struct {
	Aggregate string `json:"aggregate"`
	Count     int    `json:"count"`
}

// Status is a DeviceSyncStatus as the API answers it.
type Status struct {
	ID               string         `json:"id"`
	TenantID         string         `json:"tenantId"`
	PropertyID       string         `json:"propertyId"`
	DeviceID         string         `json:"deviceId"`
	OperatorID       string         `json:"operatorId,omitempty"`
	LastHeartbeatAt  jsontime.Time  `json:"lastHeartbeatAt"`
	SentAt           jsontime.Time  `json:"-"`
	SessionID        string         `json:"-"`
	PendingHints     []PendingHint  `json:"pendingHints"`
	AppVersion       *string        `json:"appVersion,omitempty"`
	AppPlatform      *string        `json:"appPlatform,omitempty"`
	InstallerChannel *string        `json:"installerChannel,omitempty"`
	NetworkProfile   *string        `json:"networkProfile,omitempty"`
	Status           string         `json:"status"`
	pending          []Pending      // the full hint, for Hints
	reportedAt       *jsontime.Time // when pending was reported
}

// Hint is one of GET /v1/devices/hints' items.
type Hint struct {
	DeviceID   string        `json:"deviceId"`
	ReportedAt jsontime.Time `json:"reportedAt"`
	Pending    []Pending     `json:"pending"`
}

// Hints is GET /v1/devices/hints' answer.
type Hints struct {
	Items []Hint `json:"items"`
}

// Deps are the service's clients.
type Deps struct {
	DB      *pg.DB // the app role
	Redis   *redisx.Client
	Cursors *listcursor.Codec
	// HeartbeatSampleRate is the share of heartbeats that emit
	// device.heartbeat.v1 (0..1): every desktop beats every few seconds,
	// and the event is telemetry, so it is sampled.
	HeartbeatSampleRate float64
	Now                 func() time.Time
}

// Service is the devices' rules over their stores.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

var aggregateRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// validate checks hb's fields, all of them at once.
func validate(hb Heartbeat, now time.Time) error {
	var fe []apperr.FieldError
	bad := func(field, msg string) { fe = append(fe, apperr.FieldError{Field: field, Message: msg}) }
	if hb.SentAt != nil {
		switch {
		case hb.SentAt.IsZero():
			bad("sentAt", "must be a time")
		case hb.SentAt.After(now.Add(futureSkew)):
			bad("sentAt", "is in the future; check the device's clock")
		}
	}
	if v := hb.AppVersion; v != nil && !session.ValidAppVersion(*v) {
		bad("appVersion", "must be a version such as 1.4.2")
	}
	if v := hb.AppPlatform; v != nil && !session.ValidPlatform(*v) {
		bad("appPlatform", "must be win32, darwin or linux")
	}
	if v := hb.InstallerChannel; v != nil && *v != "stable" && *v != "beta" && *v != "canary" {
		bad("installerChannel", "must be stable, beta or canary")
	}
	if v := hb.NetworkProfile; v != nil && !session.ValidNetworkProfile(*v) {
		bad("networkProfile", "must be good, flaky or offline-recently")
	}
	if hb.Pending != nil {
		if len(*hb.Pending) > MaxPending {
			bad("pending", fmt.Sprintf("must hold at most %d aggregates", MaxPending))
		}
		seen := map[string]bool{}
		for i, p := range *hb.Pending {
			if i >= MaxPending {
				break
			}
			f := "pending[" + strconv.Itoa(i) + "]"
			if !aggregateRE.MatchString(p.Aggregate) {
				bad(f+".aggregate", "must be a lower-case aggregate name of at most 64 characters")
			} else if seen[p.Aggregate] {
				bad(f+".aggregate", "is listed twice")
			}
			seen[p.Aggregate] = true
			if p.Count < 0 || p.Count > 1_000_000 {
				bad(f+".count", "must be within 0..1000000")
			}
			if p.OldestAgeSeconds < 0 || p.OldestAgeSeconds > 365*24*3600 {
				bad(f+".oldestAgeSeconds", "must be within 0..31536000")
			}
		}
	}
	if len(fe) > 0 {
		return apperr.Validation(fe...)
	}
	return nil
}

// errDeleted is a heartbeat from a device iam-service deleted.
var errDeleted = apperr.New(apperr.NotFound, "this device was deleted")

// Heartbeat stores a's heartbeat and returns the device's status after it.
// A heartbeat whose ordering key (sentAt, else the time it arrived) is
// older than the stored one changes nothing and gets the stored status;
// one from a deleted device is 404 NOT_FOUND and changes nothing. The
// property it names must be in a's scope; a first heartbeat without one
// takes a's default property. The returned event is device.heartbeat.v1
// when this heartbeat was sampled for it (publish it after the answer is
// settled), else the zero Envelope.
func (s *Service) Heartbeat(ctx context.Context, a actor.Actor, hb Heartbeat) (_ Status, _ events.Envelope, _ activity.Note, err error) {
	defer derrors.Wrap(&err, "devices.Heartbeat(%s)", a.DeviceID)
	note := activity.Note{Category: activity.CategoryOther, Action: activity.ActionDeviceHeartbeat, Resource: &activity.Ref{Kind: "device", ID: a.DeviceID}}
	now := s.d.Now().UTC().Truncate(time.Millisecond)
	if err := validate(hb, now); err != nil {
		return Status{}, events.Envelope{}, note, err
	}
	var property *string
	if hb.PropertyID != nil {
		if err := a.CheckProperty("propertyId", *hb.PropertyID); err != nil {
			return Status{}, events.Envelope{}, note, err
		}
		property = hb.PropertyID
		note.PropertyID = *hb.PropertyID
	}
	sentAt := now
	if hb.SentAt != nil {
		sentAt = hb.SentAt.UTC().Truncate(time.Millisecond)
	}
	// The hot copy answers a heartbeat older than the latest one without a
	// write; Postgres would refuse it anyway, so a stale copy only costs a
	// statement.
	if hot, ok := s.hot(ctx, a.TenantID, a.DeviceID); ok && hot.SentAt.After(sentAt) {
		hot.Status = derive(hot, now, true)
		if note.PropertyID == "" {
			note.PropertyID = hot.PropertyID
		}
		return hot, events.Envelope{}, note, nil
	}

	var pending []byte
	var hintID *string
	if hb.Pending != nil {
		p := *hb.Pending
		if p == nil {
			p = []Pending{}
		}
		if pending, err = json.Marshal(p); err != nil {
			return Status{}, events.Envelope{}, note, apperr.Wrap(apperr.Internal, err, "an internal error occurred")
		}
		h := ids.New(ids.OfflineHint)
		hintID = &h
	}
	var st Status
	err = s.d.DB.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		defProp := a.DefaultProperty()
		if property != nil {
			defProp = *property
		}
		row := tx.QueryRow(ctx, `
INSERT INTO bff.device_sync AS d (id, tenant_id, device_id, property_id, operator_id, operator_ids, session_id, sent_at, last_heartbeat_at,
       app_version, app_platform, installer_channel, network_profile, hint_id, pending, pending_reported_at, updated_at)
VALUES ($1, $2, $3, $4, $5, ARRAY[$5::text], $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $14::jsonb IS NULL THEN NULL ELSE $8::timestamptz END, $8)
ON CONFLICT (tenant_id, device_id) DO UPDATE SET
       property_id = COALESCE($15, d.property_id, EXCLUDED.property_id),
       operator_id = EXCLUDED.operator_id,
       operator_ids = CASE WHEN EXCLUDED.operator_id = ANY (d.operator_ids) THEN d.operator_ids
                           ELSE (d.operator_ids || EXCLUDED.operator_id)[greatest(1, cardinality(d.operator_ids) - 30):] END,
       session_id = EXCLUDED.session_id,
       sent_at = EXCLUDED.sent_at,
       last_heartbeat_at = EXCLUDED.last_heartbeat_at,
       app_version = COALESCE(EXCLUDED.app_version, d.app_version),
       app_platform = COALESCE(EXCLUDED.app_platform, d.app_platform),
       installer_channel = COALESCE(EXCLUDED.installer_channel, d.installer_channel),
       network_profile = COALESCE(EXCLUDED.network_profile, d.network_profile),
       hint_id = COALESCE(EXCLUDED.hint_id, d.hint_id),
       pending = COALESCE(EXCLUDED.pending, d.pending),
       pending_reported_at = COALESCE(EXCLUDED.pending_reported_at, d.pending_reported_at),
       lost_at = NULL,
       updated_at = EXCLUDED.updated_at
 WHERE d.deleted_at IS NULL AND (d.sent_at IS NULL OR d.sent_at <= EXCLUDED.sent_at)
RETURNING `+columns,
			ids.New(ids.DeviceSync), a.TenantID, a.DeviceID, defProp, a.OperatorID, a.SessionID, sentAt, now,
			hb.AppVersion, hb.AppPlatform, hb.InstallerChannel, hb.NetworkProfile, hintID, pending, property)
		var err error
		st, err = scanStatus(row)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Nothing written: a newer heartbeat is stored, or the device is
		// deleted. Read which.
		var deleted bool
		st, deleted, err = readRow(ctx, tx, a.DeviceID)
		if err != nil {
			return err
		}
		if deleted {
			return errDeleted
		}
		return nil
	})
	if err != nil {
		return Status{}, events.Envelope{}, note, err
	}
	if note.PropertyID == "" {
		note.PropertyID = st.PropertyID
	}
	s.putHot(ctx, st)
	st.Status = derive(st, now, true)
	var ev events.Envelope
	if st.SentAt.Equal(sentAt) && s.d.HeartbeatSampleRate > 0 && rand.Float64() < s.d.HeartbeatSampleRate {
		ev, err = events.New(events.DeviceHeartbeat, a.TenantID, st.PropertyID, heartbeatEvent(st))
		if err != nil {
			logging.From(ctx).WarnContext(ctx, "build heartbeat event", "err", err)
			ev = events.Envelope{}
		}
	}
	return st, ev, note, nil
}

// heartbeatEvent is device.heartbeat.v1's data: the status without the
// tenant (the envelope carries it).
func heartbeatEvent(st Status) map[string]any {
	return map[string]any{
		"deviceSyncId": st.ID, "deviceId": st.DeviceID, "operatorId": st.OperatorID,
		"lastHeartbeatAt": st.LastHeartbeatAt, "pendingHints": st.PendingHints,
		"appVersion": st.AppVersion, "appPlatform": st.AppPlatform,
		"installerChannel": st.InstallerChannel, "networkProfile": st.NetworkProfile,
	}
}

// columns are what scanStatus reads, in its order.
const columns = `d.id, d.tenant_id, d.property_id, d.device_id, d.operator_id, d.session_id, d.sent_at, d.last_heartbeat_at,
       d.app_version, d.app_platform, d.installer_channel, d.network_profile, d.pending, d.pending_reported_at`

func scanStatus(row pgx.Row) (Status, error) {
	var (
		st           Status
		sentAt, last time.Time
		pending      []byte
		reported     *time.Time
	)
	err := row.Scan(&st.ID, &st.TenantID, &st.PropertyID, &st.DeviceID, &st.OperatorID, &st.SessionID, &sentAt, &last,
		&st.AppVersion, &st.AppPlatform, &st.InstallerChannel, &st.NetworkProfile, &pending, &reported)
	if err != nil {
		return Status{}, err
	}
	st.SentAt, st.LastHeartbeatAt = jsontime.Of(sentAt), jsontime.Of(last)
	if pending != nil {
		if err := json.Unmarshal(pending, &st.pending); err != nil {
			return Status{}, fmt.Errorf("pending of %s: %w", st.DeviceID, err)
		}
		r := jsontime.Of(*reported)
		st.reportedAt = &r
	}
	st.PendingHints = hintsOf(st.pending)
	return st, nil
}

func hintsOf(p []Pending) []PendingHint {
	out := make([]PendingHint, 0, len(p))
	for _, x := range p {
		out = append(out, PendingHint{Aggregate: x.Aggregate, Count: x.Count})
	}
	return out
}

// readRow reads the device's row; deleted reports a tombstone.
func readRow(ctx context.Context, tx pgx.Tx, deviceID string) (Status, bool, error) {
	var deleted bool
	if err := tx.QueryRow(ctx, `SELECT deleted_at IS NOT NULL FROM bff.device_sync WHERE device_id = $1`, deviceID).Scan(&deleted); err != nil {
		return Status{}, false, err
	}
	if deleted {
		return Status{}, true, nil
	}
	st, err := scanStatus(tx.QueryRow(ctx, `SELECT `+columns+` FROM bff.device_sync d WHERE d.device_id = $1`, deviceID))
	return st, false, err
}

// derive is the status of st at now; sessionOpen is whether the session
// of its last heartbeat is still open.
func derive(st Status, now time.Time, sessionOpen bool) string {
	if !sessionOpen {
		return StatusStaleSession
	}
	switch age := now.Sub(st.LastHeartbeatAt.Time); {
	case age < OnlineWithin:
		return StatusOnline
	case age < OfflineAfter:
		return StatusIdle
	default:
		return StatusOffline
	}
}

// hotCopy is the hot copy's JSON: the status plus what the API hides.
type hotCopy struct {
	Status
	SentAtMs  int64  `json:"sentAtMs"`
	SessionID string `json:"sessionId"`
}

// putHotScript stores ARGV[2] unless the stored copy's ordering key is
// newer than ARGV[1]. The key is a hash of the ordering key (k) and the
// JSON (v), so the comparison needs no JSON decoding in Lua.
var putHotScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'k')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'k', ARGV[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// putHot stores st as the device's hot copy unless a newer one is there.
// A failure is logged, not returned: the heartbeat is recorded in Postgres.
func (s *Service) putHot(ctx context.Context, st Status) {
	if s.d.Redis == nil {
		return
	}
	b, err := json.Marshal(hotCopy{Status: st, SentAtMs: st.SentAt.UnixMilli(), SessionID: st.SessionID})
	if err == nil {
		err = putHotScript.Run(ctx, s.d.Redis, []string{s.d.Redis.KeyNames().DeviceStatus(st.TenantID, st.DeviceID)},
			st.SentAt.UnixMilli(), b, rediskeys.DeviceStatusTTL.Milliseconds()).Err()
	}
	if err != nil {
		logging.From(ctx).WarnContext(ctx, "store device hot copy", "deviceId", st.DeviceID, "err", err)
	}
}

// hot reads the device's hot copy; ok is false when there is none or it
// cannot be read.
func (s *Service) hot(ctx context.Context, tenantID, deviceID string) (Status, bool) {
	if s.d.Redis == nil {
		return Status{}, false
	}
	v, err := s.d.Redis.HGet(ctx, s.d.Redis.KeyNames().DeviceStatus(tenantID, deviceID), "v").Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			logging.From(ctx).WarnContext(ctx, "read device hot copy", "deviceId", deviceID, "err", err)
		}
		return Status{}, false
	}
	var h hotCopy
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		return Status{}, false
	}
	h.Status.SentAt = jsontime.Of(time.UnixMilli(h.SentAtMs))
	h.Status.SessionID = h.SessionID
	return h.Status, true
}

// DropHot removes a device's hot copy (after its deletion).
func (s *Service) DropHot(ctx context.Context, tenantID, deviceID string) error {
	return s.d.Redis.Del(ctx, s.d.Redis.KeyNames().DeviceStatus(tenantID, deviceID)).Err()
}
