// Package events holds the envelope every event of the Melmastoon suite
// travels in, the subjects this service emits and consumes, and the Publisher
// interface code depends on.
//
// It deliberately imports no Google client: a function that only builds
// envelopes (for the outbox, say) links nothing heavy. The Pub/Sub publisher
// lives in events/pubsub and the consumer adapters in events/consume.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/jsontime"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// Envelope is the wire form of an event: the Pub/Sub message data and the
// payload an outbox row stores.
type Envelope struct {
	ID         string          `json:"id"`
	Subject    string          `json:"subject"`
	OccurredAt jsontime.Time   `json:"occurredAt"`
	TenantID   string          `json:"tenantId"`
	PropertyID string          `json:"propertyId,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// Pub/Sub message attributes every publisher of the suite sets from the
// envelope, so subscriptions can filter without decoding the data; consumers
// cross-check them against the envelope.
const (
	AttrSubject  = "subject"
	AttrTenantID = "tenantId"
)

// Topic ids in Pub/Sub are capped at 255 characters, and the topic id is the
// subject, so a longer subject could never be published.
const maxSubjectLen = 255

// Subjects are lower-case dotted names ending in a major version. Underscores
// appear inside segments (ai_suggestion, cursor_advanced).
var subjectRE = regexp.MustCompile(`^melmastoon(\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$`)

// CheckSubject reports whether s has the subject format
// melmastoon.<segment>….v<N>.
func CheckSubject(s string) error {
	// The subjects of the registry were matched once, at start-up; every
	// event the hot path builds (one per view served) names one of them.
	if registered[s] {
		return nil
	}
	if len(s) > maxSubjectLen || !subjectRE.MatchString(s) {
		return fmt.Errorf("subject %q must look like melmastoon.<area>.<name>.v<N>", s)
	}
	return nil
}

// New builds a validated envelope with a fresh evt_ id, occurring now.
// propertyID is empty for tenant-wide events. data is marshalled with
// encoding/json and must become a JSON object.
func New(subject, tenantID, propertyID string, data any) (_ Envelope, err error) {
	defer derrors.Wrap(&err, "events.New(%q)", subject)
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("marshal data: %w", err)
	}
	now := time.Now()
	e := Envelope{
		// The id's ULID time and occurredAt agree, so ids sort by occurrence.
		ID:         ids.NewAt(ids.Event, now),
		Subject:    subject,
		OccurredAt: jsontime.Of(now),
		TenantID:   tenantID,
		PropertyID: propertyID,
		Data:       raw,
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// Validate checks every field and returns all problems joined.
func (e Envelope) Validate() error {
	var errs []error
	if err := ids.Check(ids.Event, e.ID); err != nil {
		errs = append(errs, fmt.Errorf("id: %w", err))
	}
	if err := CheckSubject(e.Subject); err != nil {
		errs = append(errs, err)
	}
	if e.OccurredAt.IsZero() {
		errs = append(errs, errors.New("occurredAt is required"))
	}
	if err := ids.Check(ids.Tenant, e.TenantID); err != nil {
		errs = append(errs, fmt.Errorf("tenantId: %w", err))
	}
	if e.PropertyID != "" {
		if err := ids.Check(ids.Property, e.PropertyID); err != nil {
			errs = append(errs, fmt.Errorf("propertyId: %w", err))
		}
	}
	if err := checkObject(e.Data); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid event envelope: %w", errors.Join(errs...))
	}
	return nil
}

// Every data payload of the suite is an object; a bare string, array or null
// means the producer put the wrong thing there.
func checkObject(d json.RawMessage) error {
	t := bytes.TrimSpace(d)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return errors.New("data must be a JSON object")
	}
	return nil
}

// Decode parses one envelope strictly: unknown, duplicate or mis-cased
// top-level fields, trailing data and any Validate failure are errors.
// Consumers treat such a message as poison.
//
// encoding/json alone would accept "TenantId" for tenantId and let a second
// "tenantId" silently override the first; a producer and a consumer that
// disagree on which one counts is how a message crosses tenants, so the keys
// are checked on the token stream first.
func Decode(b []byte) (_ Envelope, err error) {
	defer derrors.Wrap(&err, "events.Decode")
	if err := checkKeys(b); err != nil {
		return Envelope{}, err
	}
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, err
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

var envelopeKeys = map[string]bool{
	"id": true, "subject": true, "occurredAt": true,
	"tenantId": true, "propertyId": true, "data": true,
}

func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("envelope must be a JSON object")
	}
	seen := make(map[string]bool, len(envelopeKeys))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not JSON: %w", err)
		}
		k, _ := tok.(string)
		if !envelopeKeys[k] {
			return fmt.Errorf("unknown field %q", k)
		}
		if seen[k] {
			return fmt.Errorf("duplicate field %q", k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the envelope")
	}
	return nil
}

// Publisher sends envelopes to the bus. Implementations return only after
// every envelope is accepted by the bus or has failed: on Cloud Run the CPU is
// throttled once the response is written, so nothing may be left in flight.
type Publisher interface {
	Publish(ctx context.Context, evs ...Envelope) error
}

// Enqueuer is a Publisher that can also take events without waiting for
// Pub/Sub's acknowledgement: for telemetry whose loss in a crash is
// acceptable and whose wait is not (an event per view served). Enqueued
// events leave with the publisher's next batch — on a later request's CPU
// if the instance is throttled — and Close flushes what is still pending;
// failures are logged, never returned.
type Enqueuer interface {
	Enqueue(ctx context.Context, evs ...Envelope)
}

// Discard validates envelopes and drops them. For a dev server explicitly
// configured without a bus; never a stand-in for Pub/Sub in tests that claim
// to prove delivery.
type Discard struct{}

// Publish implements Publisher.
func (Discard) Publish(_ context.Context, evs ...Envelope) (err error) {
	defer derrors.Wrap(&err, "events.Discard.Publish")
	return validateAll(evs)
}

// Log validates envelopes and writes each to the log at INFO instead of
// publishing it. Same caveat as Discard. A nil Logger means the logger in the
// context (logging.From).
type Log struct{ Logger *slog.Logger }

// Publish implements Publisher.
func (l Log) Publish(ctx context.Context, evs ...Envelope) (err error) {
	defer derrors.Wrap(&err, "events.Log.Publish")
	if err := validateAll(evs); err != nil {
		return err
	}
	lg := l.Logger
	if lg == nil {
		lg = logging.From(ctx)
	}
	for _, e := range evs {
		lg.InfoContext(ctx, "event not published (log publisher)",
			slog.String("eventId", e.ID),
			slog.String("subject", e.Subject),
			slog.String("tenantId", e.TenantID),
			slog.String("propertyId", e.PropertyID),
			slog.String("data", string(e.Data)),
		)
	}
	return nil
}

func validateAll(evs []Envelope) error {
	var errs []error
	for i, e := range evs {
		if err := e.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("event %d (%s): %w", i, e.ID, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
