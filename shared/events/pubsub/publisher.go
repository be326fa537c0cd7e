// Package pubsubevents publishes event envelopes to Google Cloud Pub/Sub, one
// topic per subject, and creates topics and push subscriptions on the
// emulator for local runs and tests.
//
// It is its own package so that only functions that publish link the Pub/Sub
// client.
package pubsubevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/logging"
)

// Defaults of Options.
const (
	// A request publishes a handful of events and then waits for them, so
	// every millisecond of bundling delay is added to the response time;
	// events of one Publish call are still sent in one bundle per topic
	// because they are enqueued back to back.
	DefaultDelayThreshold = time.Millisecond
	// Enqueued events (a view's telemetry) wait for nobody, so their
	// bundles may fill: at the rate of a busy dashboard a 1 ms delay sends
	// one RPC per handful of messages, which costs more CPU (ours and
	// Pub/Sub's) than the messages themselves. A bundle leaves at this
	// delay or at the library's 100 messages, whichever comes first.
	DefaultEnqueueDelayThreshold = 50 * time.Millisecond
	// The library would retry one bundle for 60 s. The caller's ctx bounds
	// the wait already; this bounds the work left behind after the caller
	// gave up, and how long Close may block.
	DefaultTimeout = 10 * time.Second
)

// Options tunes a Publisher. The zero value is ready to use.
type Options struct {
	DelayThreshold time.Duration // default DefaultDelayThreshold
	// EnqueueDelayThreshold is the batching delay of Enqueue's messages,
	// which go out on publishers of their own so a waiting Publish never
	// sits behind them (default DefaultEnqueueDelayThreshold).
	EnqueueDelayThreshold time.Duration
	Timeout               time.Duration // default DefaultTimeout
	// ClientOptions are passed to pubsub.NewClient; with PUBSUB_EMULATOR_HOST
	// set the client already targets the emulator without any.
	ClientOptions []option.ClientOption
}

// Publisher publishes envelopes to the topic named by their subject. Create
// one per instance; it is safe for concurrent use.
type Publisher struct {
	client *pubsub.Client
	// settings are those of Publish's topic publishers, queued those of
	// Enqueue's.
	settings, queued pubsub.PublishSettings

	mu     sync.Mutex
	topics map[topicKey]*pubsub.Publisher
	closed bool
}

// topicKey names one topic publisher: Publish and Enqueue each have their
// own per topic, with their own batching delay.
type topicKey struct {
	id     string
	queued bool
}

var (
	_ events.Publisher = (*Publisher)(nil)
	_ events.Enqueuer  = (*Publisher)(nil)
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("pubsubevents: publisher is closed")

// NewPublisher opens one Pub/Sub client for projectID.
func NewPublisher(ctx context.Context, projectID string, opts Options) (_ *Publisher, err error) {
	defer derrors.Wrap(&err, "pubsubevents.NewPublisher(%q)", projectID)
	if projectID == "" {
		return nil, errors.New("project id is required")
	}
	c, err := pubsub.NewClient(ctx, projectID, opts.ClientOptions...)
	if err != nil {
		return nil, err
	}
	s := pubsub.DefaultPublishSettings
	s.DelayThreshold = DefaultDelayThreshold
	if opts.DelayThreshold > 0 {
		s.DelayThreshold = opts.DelayThreshold
	}
	s.Timeout = DefaultTimeout
	if opts.Timeout > 0 {
		s.Timeout = opts.Timeout
	}
	q := s
	q.DelayThreshold = DefaultEnqueueDelayThreshold
	if opts.EnqueueDelayThreshold > 0 {
		q.DelayThreshold = opts.EnqueueDelayThreshold
	}
	return &Publisher{client: c, settings: s, queued: q, topics: make(map[topicKey]*pubsub.Publisher)}, nil
}

// topic returns the cached publisher of a topic for Publish or, queued,
// for Enqueue; pubsub.Publisher owns bundling goroutines, so there must be
// exactly one of each per topic.
func (p *Publisher) topic(id string, queued bool) (*pubsub.Publisher, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	k := topicKey{id: id, queued: queued}
	t, ok := p.topics[k]
	if !ok {
		t = p.client.Publisher(id)
		t.PublishSettings = p.settings
		if queued {
			t.PublishSettings = p.queued
		}
		p.topics[k] = t
	}
	return t, nil
}

// Failure is one envelope that was not published.
type Failure struct {
	EventID string
	Subject string
	Err     error
}

// PublishError lists the envelopes of one Publish call that failed; the
// others were accepted by Pub/Sub. An outbox relay uses it to mark only the
// published rows as sent.
type PublishError struct {
	Total    int
	Failures []Failure
}

func (e *PublishError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pubsubevents.Publish: %d of %d events failed", len(e.Failures), e.Total)
	for i, f := range e.Failures {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s (%s): %v", sep, f.EventID, f.Subject, f.Err)
	}
	return b.String()
}

// Unwrap exposes the causes, so errors.Is(err, context.DeadlineExceeded)
// works.
func (e *PublishError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// Failed reports whether the envelope with this id is among the failures.
func (e *PublishError) Failed(eventID string) bool {
	for _, f := range e.Failures {
		if f.EventID == eventID {
			return true
		}
	}
	return false
}

// Publish sends each envelope as one message (data = envelope JSON,
// attributes subject and tenantId) to the topic named by its subject, and
// returns only once Pub/Sub has acknowledged every message or ctx is done:
// Cloud Run throttles the CPU after the response, so a publish left in flight
// might never leave the instance. Invalid envelopes are not sent and are
// reported as failures.
//
// When ctx ends first, a message may still be delivered later by the
// client's background retry (bounded by Options.Timeout); a caller that
// retries can therefore publish an event twice, which consumers tolerate
// because they deduplicate by event id.
//
// The error, if any, wraps a *PublishError (errors.As).
func (p *Publisher) Publish(ctx context.Context, evs ...events.Envelope) (err error) {
	defer derrors.Wrap(&err, "pubsubevents.Publisher.Publish")
	if len(evs) == 0 {
		return nil
	}
	perr := &PublishError{Total: len(evs)}
	fail := func(e events.Envelope, err error) {
		perr.Failures = append(perr.Failures, Failure{EventID: e.ID, Subject: e.Subject, Err: err})
	}
	type pending struct {
		ev  events.Envelope
		res *pubsub.PublishResult
	}
	sent := make([]pending, 0, len(evs))
	// Enqueue everything before waiting on anything, so events for the same
	// topic share a bundle and topics are published in parallel.
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			fail(e, err)
			continue
		}
		data, err := json.Marshal(e)
		if err != nil {
			fail(e, fmt.Errorf("marshal envelope: %w", err))
			continue
		}
		t, err := p.topic(e.Subject, false)
		if err != nil {
			fail(e, err)
			continue
		}
		res := t.Publish(ctx, &pubsub.Message{
			Data:       data,
			Attributes: map[string]string{events.AttrSubject: e.Subject, events.AttrTenantID: e.TenantID},
		})
		sent = append(sent, pending{ev: e, res: res})
	}
	for _, s := range sent {
		if _, err := s.res.Get(ctx); err != nil {
			fail(s.ev, err)
		}
	}
	if len(perr.Failures) > 0 {
		return perr
	}
	return nil
}

// Enqueue implements events.Enqueuer: each valid envelope is handed to its
// topic's batcher for enqueued messages, which sends a bundle after
// Options.EnqueueDelayThreshold or 100 messages, and Enqueue returns at once;
// a goroutine per message logs the outcome (bounded by Options.Timeout).
// Close flushes the batches still pending, so an instance that drains loses
// nothing enqueued; a crash loses at most the last delay's worth.
func (p *Publisher) Enqueue(ctx context.Context, evs ...events.Envelope) {
	log := logging.From(ctx)
	ctx = context.WithoutCancel(ctx)
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			log.WarnContext(ctx, "event not enqueued", "subject", e.Subject, "err", err)
			continue
		}
		data, err := json.Marshal(e)
		if err != nil {
			log.WarnContext(ctx, "event not enqueued", "subject", e.Subject, "err", err)
			continue
		}
		t, err := p.topic(e.Subject, true)
		if err != nil {
			log.WarnContext(ctx, "event not enqueued", "subject", e.Subject, "err", err)
			continue
		}
		res := t.Publish(ctx, &pubsub.Message{
			Data:       data,
			Attributes: map[string]string{events.AttrSubject: e.Subject, events.AttrTenantID: e.TenantID},
		})
		go func(id, subject string) {
			if _, err := res.Get(ctx); err != nil {
				log.WarnContext(ctx, "enqueued event not published", "eventId", id, "subject", subject, "err", err)
			}
		}(e.ID, e.Subject)
	}
}

// Close flushes and stops every topic publisher, then closes the client.
// It may block up to Options.Timeout when Pub/Sub is unreachable.
func (p *Publisher) Close() (err error) {
	defer derrors.Wrap(&err, "pubsubevents.Publisher.Close")
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	topics := make([]*pubsub.Publisher, 0, len(p.topics))
	for _, t := range p.topics {
		topics = append(topics, t)
	}
	p.mu.Unlock()

	var wg sync.WaitGroup
	for _, t := range topics {
		wg.Go(t.Stop)
	}
	wg.Wait()
	return p.client.Close()
}
