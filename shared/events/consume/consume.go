// Package consume adapts an event handler to the two ways a Pub/Sub message
// reaches this service: as an Eventarc CloudEvent in GCP (Handler, for
// functions.CloudEvent) and as a raw push request from the emulator on the
// local dev server (Push).
//
// Both decode the envelope strictly, acknowledge poison messages instead of
// letting them be retried forever, and skip events already processed by the
// same consumer. Deduplication is by event id and best effort: the
// "processed" marker is written only after fn succeeds, so two deliveries of
// one event that overlap both run fn. fn must therefore tolerate running twice
// for the same event (upserts, SET NX, write-once rows); the marker only saves
// the repeated work in the common, sequential case.
package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/rediskeys"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// EventType is the CloudEvent type Eventarc uses for Pub/Sub messages.
const EventType = "google.cloud.pubsub.topic.v1.messagePublished"

// MarkerTTL is how long a processed marker lives: longer than Pub/Sub's
// maximum message retention (7 days), so no redelivery outlives its marker.
const MarkerTTL = rediskeys.EventMarkerTTL

// Pub/Sub caps a message at 10 MB; base64 and the wrapper add about a third.
const maxPushBody = 16 << 20

// Func handles one event. Returning an error makes Pub/Sub redeliver (when the
// function is deployed with --retry, and always from the emulator), except an
// error wrapping ErrPoison. fn must tolerate running twice for one event: the
// deduplication is best effort (see the package doc).
type Func func(ctx context.Context, ev events.Envelope) error

// ErrPoison is for fn to wrap when the event is well-formed but its data can
// never be applied (a required field missing, a malformed id): the consumer
// logs it at ERROR and acknowledges the message instead of having it retried
// until it expires. No processed marker is written for it.
var ErrPoison = errors.New("poison event")

// MarkerKey is the Redis key recording that consumer name has processed
// eventID: <prefix>evt:<name>:<eventID>.
func MarkerKey(rdb *redisx.Client, name, eventID string) string {
	return rdb.KeyNames().EventMarker(name, eventID)
}

// Handler returns a CloudEvent function (the signature functions.CloudEvent
// takes) that decodes the messagePublished event into an envelope and calls
// fn once per event id for consumer name (see the package doc for what
// "once" means). name must be stable across deploys: it keys the markers.
func Handler(name string, rdb *redisx.Client, fn Func) func(context.Context, event.Event) error {
	c := consumer{name: name, rdb: rdb, fn: fn}
	return func(ctx context.Context, ce event.Event) error {
		if err := c.check(); err != nil {
			return err
		}
		if ce.Type() != EventType {
			c.poison(ctx, fmt.Errorf("CloudEvent type %q, want %q", ce.Type(), EventType), slog.String("ceId", ce.ID()))
			return nil
		}
		return c.handle(ctx, ce.Data())
	}
}

// Push returns an HTTP handler for a Pub/Sub push subscription (the body
// {message: {data, attributes, messageId, publishTime}, subscription}), for
// the emulator on the local dev server. 204 acknowledges (done, duplicate or
// poison); 500 makes the emulator redeliver.
func Push(name string, rdb *redisx.Client, fn Func) http.HandlerFunc {
	c := consumer{name: name, rdb: rdb, fn: fn}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if err := c.check(); err != nil {
			logging.From(r.Context()).ErrorContext(r.Context(), "event consumer misconfigured", slog.Any("error", err))
			http.Error(w, "consumer misconfigured", http.StatusInternalServerError)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				c.poison(r.Context(), fmt.Errorf("push body over %d bytes", tooBig.Limit))
				w.WriteHeader(http.StatusNoContent)
				return
			}
			http.Error(w, "reading body failed", http.StatusInternalServerError)
			return
		}
		if err := c.handle(r.Context(), body); err != nil {
			http.Error(w, "event handler failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// pubsubMessage is both the data of a messagePublished CloudEvent and the body
// of a push request. Unknown fields are ignored on purpose: GCP adds
// message_id/publish_time/deliveryAttempt and the functions framework adds
// @type; only the envelope inside data is held to a strict schema.
type pubsubMessage struct {
	Subscription string `json:"subscription"`
	Message      *struct {
		Data        []byte            `json:"data"` // base64 on the wire
		Attributes  map[string]string `json:"attributes"`
		MessageID   string            `json:"messageId"`
		PublishTime string            `json:"publishTime"`
	} `json:"message"`
}

type consumer struct {
	name string
	rdb  *redisx.Client
	fn   Func
}

func (c consumer) check() error {
	switch {
	case c.name == "" || strings.Contains(c.name, ":"):
		return fmt.Errorf("consume: consumer name %q must be non-empty and free of ':'", c.name)
	case c.rdb == nil:
		return fmt.Errorf("consume %s: nil Redis client", c.name)
	case c.fn == nil:
		return fmt.Errorf("consume %s: nil handler", c.name)
	}
	return nil
}

// handle returns nil when the message is done with (processed, duplicate or
// poison) and an error when it should be redelivered.
func (c consumer) handle(ctx context.Context, body []byte) (err error) {
	defer derrors.Wrap(&err, "consume(%s)", c.name)
	var m pubsubMessage
	if err := json.Unmarshal(body, &m); err != nil {
		c.poison(ctx, fmt.Errorf("pubsub message wrapper: %w", err))
		return nil
	}
	if m.Message == nil {
		c.poison(ctx, errors.New("pubsub message wrapper has no message"), slog.String("subscription", m.Subscription))
		return nil
	}
	msgAttrs := []any{slog.String("messageId", m.Message.MessageID), slog.String("subscription", m.Subscription)}
	ev, err := events.Decode(m.Message.Data)
	if err != nil {
		c.poison(ctx, err, msgAttrs...)
		return nil
	}
	// The attributes are what subscription filters and dashboards see; a
	// message whose attributes disagree with its data was built wrong and
	// must not be trusted either way.
	if s, ok := m.Message.Attributes[events.AttrSubject]; ok && s != ev.Subject {
		c.poison(ctx, fmt.Errorf("attribute subject %q != envelope subject %q", s, ev.Subject), append(msgAttrs, slog.String("eventId", ev.ID))...)
		return nil
	}
	if t, ok := m.Message.Attributes[events.AttrTenantID]; ok && t != ev.TenantID {
		c.poison(ctx, fmt.Errorf("attribute tenantId %q != envelope tenantId %q", t, ev.TenantID), append(msgAttrs, slog.String("eventId", ev.ID))...)
		return nil
	}

	log := logging.From(ctx).With(append(msgAttrs,
		slog.String("consumer", c.name),
		slog.String("eventId", ev.ID),
		slog.String("subject", ev.Subject),
		slog.String("tenantId", ev.TenantID),
	)...)
	ctx = logging.WithLogger(ctx, log)

	key := MarkerKey(c.rdb, c.name, ev.ID)
	n, err := c.rdb.Exists(ctx, key).Result()
	if err != nil {
		// Without the marker we cannot tell a duplicate; let Pub/Sub retry
		// rather than guess.
		log.ErrorContext(ctx, "event dedupe check failed", slog.Any("error", err))
		return fmt.Errorf("check %s: %w", ev.ID, err)
	}
	if n > 0 {
		log.DebugContext(ctx, "event already processed, skipped")
		return nil
	}
	if err := c.fn(ctx, ev); err != nil {
		if errors.Is(err, ErrPoison) {
			log.ErrorContext(ctx, "poison event acknowledged: handler rejected its data", slog.Any("error", err))
			return nil
		}
		log.ErrorContext(ctx, "event handler failed, will be redelivered", slog.Any("error", err))
		return fmt.Errorf("event %s (%s): %w", ev.ID, ev.Subject, err)
	}
	if err := c.rdb.Set(ctx, key, jsontime.Format(time.Now()), MarkerTTL).Err(); err != nil {
		// The work is done; failing now would only make Pub/Sub redeliver
		// it, and fn tolerates that anyway. Acknowledge.
		log.WarnContext(ctx, "event processed but marker not saved", slog.Any("error", err))
	}
	return nil
}

// poison logs a message that can never succeed. It is acknowledged: a retry
// would fail the same way until the message expires, blocking nothing but
// burning invocations and hiding real errors in the noise.
func (c consumer) poison(ctx context.Context, err error, attrs ...any) {
	logging.From(ctx).ErrorContext(ctx, "poison event message acknowledged without processing",
		append(attrs, slog.String("consumer", c.name), slog.Any("error", err))...)
}
