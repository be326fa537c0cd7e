// Package livestream serves GET /v1/events: the Server-Sent Events stream of
// one device, read from its bounded Redis Stream (shared/devicestream).
//
// One Server per instance holds ONE Redis pub/sub subscription
// (PSUBSCRIBE <prefix>devstream-notify:*) and wakes, in process, the
// connections of the device an append names. A woken connection reads its
// device's stream after the last id it sent (XRANGE), so a lost or
// coalesced wake-up costs nothing but latency: pub/sub is at-most-once,
// every (re)subscription wakes every connection, and each keep-alive tick
// re-reads the stream as well.
//
// The wire (text/event-stream):
//
//	retry: 5000                          first block; a fresh connection also
//	id: 1718000000000-0                  carries the stream's current position
//
//	id: 1718000000123-0                  one block per stream entry
//	event: forceLogout                   forceLogout | aiInboxChanged |
//	data: {"sessionId":"bos_…","reason":"revoked"}   alertInboxChanged | viewInvalidated
//
//	: keep-alive                         every 15 s
//
//	id: 1718000000456-0                  when the resume cannot be proven
//	event: resync                        gap-free: the client refetches
//	data: {"reason":"trimmed"}           everything it shows
//
//	retry: 5000                          before 55 min: the stream ends, the
//	: reconnect                          client reconnects with Last-Event-ID
//
// After a forceLogout the stream ends (the session is dead; the reconnect
// gets 401). A keep-alive tick also ends it once the session is no longer
// open (signed out, expired), and so does the token's expiry: the client
// reconnects with a fresh token.
//
// Per operator: a desk PC is shared, so one device's stream carries the
// events of everyone who signed in on it. Each connection is its session's
// view of it: before entries are sent the session is read again (one GET),
// a property-wide event for a property outside the session's current scope
// or of an inbox category its roles may not see is skipped, and so is a
// forceLogout of another session. A skipped entry is sent as an id-only
// block, which moves the client's Last-Event-ID without an event.
//
// At most MaxPerDevice streams are open per device, across instances; a
// new one closes the oldest (which is woken through the device's channel
// and ends with a long retry hint).
//
// Resume: the Last-Event-ID header (or the lastEventId query parameter, for
// clients that cannot set headers) names a stream id `<ms>-<seq>`; a
// malformed one is 400 VALIDATION_FAILED. resync reasons: "trimmed" (the
// stream dropped entries after that id: over devicestream.MaxLen behind),
// "unknown" (the id is not one of this stream's, e.g. the stream expired
// and started again), "away" (the device was not registered for its
// properties within devicestream.RegistryWindow, so property-wide events
// may not be in its stream). A resync carries the current position as its
// id, and the stream goes on from there.
package livestream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/devicestream"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// Options tune a Server; zero values take the defaults.
type Options struct {
	// KeepAlive is the interval of keep-alive comments, registry refreshes
	// and safety re-reads (15 s).
	KeepAlive time.Duration
	// MaxAge ends a stream before Cloud Run's 60 min request limit (55 min).
	MaxAge time.Duration
	// Retry is the reconnection delay hinted with `retry:` (5 s).
	Retry time.Duration
	// Sessions, when set, is read before entries are sent and on each
	// keep-alive: a stream whose session is no longer open ends, and the
	// session's current scope and roles filter what is sent.
	Sessions *session.Manager
	// Now is the clock of the token-expiry deadline (time.Now).
	Now func() time.Time
}

// MaxPerDevice bounds the open streams of one device.
const MaxPerDevice = 3

// evictedRetry is the reconnect hint of a stream closed for a newer one:
// long, so four clients of one device do not take turns evicting each other.
const evictedRetry = time.Minute

func (o Options) withDefaults() Options {
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 55 * time.Minute
	}
	if o.Retry <= 0 {
		o.Retry = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// batch is how many entries one XRANGE reads.
const batch = 100

// Server is the per-instance hub of SSE connections.
type Server struct {
	rdb     *redisx.Client
	opts    Options
	ps      *redis.PubSub
	notify  string // channel prefix: <prefix>devstream-notify:
	closing chan struct{}
	done    chan struct{}
	once    sync.Once

	mu    sync.Mutex
	conns map[string]map[*conn]struct{} // tenant + "\x00" + device
}

type conn struct{ wake chan struct{} }

// New subscribes to the notify channels and returns once the subscription
// is confirmed, so a connection accepted afterwards misses no wake-up.
func New(ctx context.Context, rdb *redisx.Client, o Options) (_ *Server, err error) {
	defer derrors.Wrap(&err, "livestream.New")
	s := &Server{
		rdb: rdb, opts: o.withDefaults(),
		notify:  devicestream.Channel(rdb, ""),
		closing: make(chan struct{}), done: make(chan struct{}),
		conns: map[string]map[*conn]struct{}{},
	}
	// The subscription lives as long as the instance, not the start-up ctx.
	s.ps = rdb.PSubscribe(context.WithoutCancel(ctx), globEscape(s.notify)+"*")
	if _, err := s.ps.Receive(ctx); err != nil {
		_ = s.ps.Close()
		return nil, fmt.Errorf("psubscribe: %w", err)
	}
	go s.fanOut()
	return s, nil
}

// Close ends every stream (each with its retry hint) and the subscription.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		_ = s.ps.Close()
		<-s.done
	})
}

func (s *Server) fanOut() {
	defer close(s.done)
	// ChannelWithSubscriptions also yields the re-subscriptions go-redis
	// makes after a lost connection: whatever was published meanwhile is
	// gone, so every connection re-reads its stream.
	for m := range s.ps.ChannelWithSubscriptions() {
		switch m := m.(type) {
		case *redis.Message:
			tenant, ok := strings.CutPrefix(m.Channel, s.notify)
			if ok {
				s.wake(tenant + "\x00" + m.Payload)
			}
		case *redis.Subscription:
			s.wakeAll()
		}
	}
}

func (s *Server) wake(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns[key] {
		signal(c.wake)
	}
}

func (s *Server) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cs := range s.conns {
		for c := range cs {
			signal(c.wake)
		}
	}
}

// signal never blocks: one pending wake-up is as good as many.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (s *Server) add(key string) *conn {
	c := &conn{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[key] == nil {
		s.conns[key] = map[*conn]struct{}{}
	}
	s.conns[key][c] = struct{}{}
	return c
}

func (s *Server) remove(key string, c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns[key], c)
	if len(s.conns[key]) == 0 {
		delete(s.conns, key)
	}
}

// Connections counts the open streams of this instance.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, cs := range s.conns {
		n += len(cs)
	}
	return n
}

var streamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// Stream writes a device's event stream to w until the client leaves, the
// session ends, the stream reaches MaxAge or the instance closes.
type Stream func(ctx context.Context, w http.ResponseWriter)

// Connect opens a's device stream, resuming after lastEventID when it is
// not empty (field names where the request carried it, for the 400
// VALIDATION_FAILED of a malformed one). It returns the stream to serve
// once the connection's activity note is recorded.
func (s *Server) Connect(a actor.Actor, field, lastEventID string) (Stream, activity.Note, error) {
	note := activity.Note{Category: activity.CategoryView, Action: activity.ActionEventsConnected,
		Resource: &activity.Ref{Kind: "device", ID: a.DeviceID}}
	if lastEventID != "" {
		if _, _, ok := parseID(lastEventID); !ok {
			return nil, note, apperr.Validation(apperr.FieldError{Field: field, Message: "must be an event id <ms>-<seq>"})
		}
	}
	return func(ctx context.Context, w http.ResponseWriter) { s.serve(ctx, w, a, lastEventID) }, note, nil
}

// serve writes the stream until the client leaves, the session ends, the
// stream reaches MaxAge or the instance closes.
func (s *Server) serve(ctx context.Context, w http.ResponseWriter, sess actor.Actor, last string) {
	log := logging.From(ctx)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	sw := &sseWriter{w: w}

	key := sess.TenantID + "\x00" + sess.DeviceID
	c := s.add(key) // before reading the position: no append falls between
	defer s.remove(key, c)
	stream := devicestream.Key(s.rdb, sess.TenantID, sess.DeviceID)
	conns := s.rdb.KeyNames().DeviceStreamConns(sess.TenantID, sess.DeviceID)
	connID := ids.New("sse")
	if err := s.claimSlot(ctx, conns, connID, sess); err != nil {
		log.WarnContext(ctx, "events: claim stream slot", "err", err)
		s.end(sw, rc)
		return
	}
	defer func() {
		if err := s.rdb.ZRem(context.WithoutCancel(ctx), conns, connID).Err(); err != nil {
			log.WarnContext(ctx, "events: release stream slot", "err", err)
		}
	}()
	view := viewer{sessionID: sess.SessionID, scope: sess.PropertyScope, roles: sess.Roles}

	known, err := devicestream.Register(ctx, s.rdb, sess.TenantID, sess.DeviceID, sess.PropertyScope, time.Now())
	if err != nil {
		log.WarnContext(ctx, "events: register device", "err", err)
		s.end(sw, rc)
		return
	}
	pos, pending, reason, err := s.start(ctx, stream, last, known)
	if err != nil {
		log.WarnContext(ctx, "events: read stream", "err", err)
		s.end(sw, rc)
		return
	}
	sw.printf("retry: %d\n", s.opts.Retry.Milliseconds())
	switch {
	case reason != "":
		sw.event(pos, "resync", fmt.Appendf(nil, `{"reason":%q}`, reason))
	case last == "":
		// An id-only block sets the client's Last-Event-ID without an
		// event, so a reconnect before any event still resumes from here.
		sw.printf("id: %s\n\n", pos)
	default:
		sw.printf("\n")
	}

	keepAlive := time.NewTicker(s.opts.KeepAlive)
	defer keepAlive.Stop()
	maxAge := time.NewTimer(s.lifetime(sess))
	defer maxAge.Stop()
	for {
		if len(pending) > 0 {
			open, err := s.refresh(ctx, &view)
			if err != nil {
				// Without the session nothing can be filtered: end rather
				// than send what this operator may not see.
				log.WarnContext(ctx, "events: read session", "err", err)
				s.end(sw, rc)
				return
			}
			if !open && !view.ownLogoutIn(pending) {
				_ = rc.Flush()
				return
			}
		}
		for len(pending) > 0 && sw.err == nil {
			for _, m := range pending {
				typ, _ := m.Values["type"].(string)
				data, _ := m.Values["data"].(string)
				pos = m.ID
				if !view.allows(typ, data) {
					sw.printf("id: %s\n\n", m.ID)
					continue
				}
				sw.event(m.ID, typ, []byte(data))
				if typ == devicestream.TypeForceLogout {
					_ = rc.Flush()
					return
				}
			}
			if len(pending) < batch {
				break
			}
			if pending, err = s.after(ctx, stream, pos); err != nil {
				log.WarnContext(ctx, "events: read stream", "err", err)
				s.end(sw, rc)
				return
			}
		}
		pending = nil
		if sw.err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			s.end(sw, rc)
			return
		case <-maxAge.C:
			s.end(sw, rc)
			return
		case <-c.wake:
			if s.evicted(ctx, conns, connID) {
				sw.printf("retry: %d\n: closed for a newer stream of this device\n\n", evictedRetry.Milliseconds())
				_ = rc.Flush()
				return
			}
		case <-keepAlive.C:
			sw.printf(": keep-alive\n\n")
			open, err := s.refresh(ctx, &view)
			if err != nil {
				// Redis trouble is not proof the session ended; the next
				// tick asks again, and nothing is sent meanwhile unchecked.
				log.WarnContext(ctx, "events: check session", "err", err)
			} else if !open {
				_ = rc.Flush()
				return
			}
			if s.evicted(ctx, conns, connID) {
				sw.printf("retry: %d\n: closed for a newer stream of this device\n\n", evictedRetry.Milliseconds())
				_ = rc.Flush()
				return
			}
			if _, err := devicestream.Register(ctx, s.rdb, sess.TenantID, sess.DeviceID, view.scope, time.Now()); err != nil {
				log.WarnContext(ctx, "events: refresh registration", "err", err)
			}
		}
		if pending, err = s.after(ctx, stream, pos); err != nil {
			log.WarnContext(ctx, "events: read stream", "err", err)
			s.end(sw, rc)
			return
		}
	}
}

// end closes a stream the way a client should reconnect from.
func (s *Server) end(sw *sseWriter, rc *http.ResponseController) {
	sw.printf("retry: %d\n: reconnect\n\n", s.opts.Retry.Milliseconds())
	_ = rc.Flush()
}

// lifetime is how long the stream may last: MaxAge, and never past the
// token's expiry.
func (s *Server) lifetime(a actor.Actor) time.Duration {
	d := s.opts.MaxAge
	if !a.TokenExpiresAt.IsZero() {
		if left := a.TokenExpiresAt.Sub(s.opts.Now()); left < d {
			d = max(left, 0)
		}
	}
	return d
}

// refresh reads the session again into v: whether it is still open, and
// its current scope and roles (which follow its owner while it is open).
// Without a session manager the connect-time view stays.
func (s *Server) refresh(ctx context.Context, v *viewer) (bool, error) {
	if s.opts.Sessions == nil {
		return true, nil
	}
	cur, err := s.opts.Sessions.Get(ctx, v.sessionID)
	if err != nil {
		return false, err
	}
	if cur == nil || cur.State != session.StateOpen {
		return false, nil
	}
	v.scope, v.roles = cur.PropertyScope, cur.Roles
	return true, nil
}

// claimScript adds a connection to its device's set and evicts the oldest
// beyond the bound, waking the device's connections so the evicted ones
// notice; atomically, so two instances connecting at once cannot both keep
// a fourth.
//
// KEYS[1] the device's connection set; ARGV: connection id, now ms, bound,
// ttl ms, channel, device id.
var claimScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local n = redis.call('ZCARD', KEYS[1])
local over = n - tonumber(ARGV[3])
if over > 0 then
  redis.call('ZPOPMIN', KEYS[1], over)
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return over
`)

func (s *Server) claimSlot(ctx context.Context, conns, connID string, a actor.Actor) error {
	ttl := s.opts.MaxAge + time.Minute
	err := claimScript.Run(ctx, s.rdb, []string{conns}, connID, s.opts.Now().UnixMilli(), MaxPerDevice,
		ttl.Milliseconds(), devicestream.Channel(s.rdb, a.TenantID), a.DeviceID).Err()
	if err != nil {
		return fmt.Errorf("claim slot of %s: %w", a.DeviceID, err)
	}
	return nil
}

// evicted reports whether a newer stream of the device took this one's
// slot. Redis trouble is not proof of it.
func (s *Server) evicted(ctx context.Context, conns, connID string) bool {
	err := s.rdb.ZScore(ctx, conns, connID).Err()
	return errors.Is(err, redis.Nil)
}

// viewer is what one connection may be sent: its session's forceLogout,
// and the property-wide events of its current scope and roles.
type viewer struct {
	sessionID string
	scope     []string
	roles     []string
}

// entryData is the part of an entry's data the filter reads.
type entryData struct {
	SessionID  string `json:"sessionId"`
	PropertyID string `json:"propertyId"`
	Category   string `json:"category"`
}

func (v viewer) allows(typ, data string) bool {
	var d entryData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return false
	}
	switch typ {
	case devicestream.TypeForceLogout:
		// A device-wide logout (no session named) is everyone's.
		return d.SessionID == "" || d.SessionID == v.sessionID
	case devicestream.TypeAIInboxChanged:
		if d.Category != "" && !access.Has(v.roles, access.Suggestion(d.Category)...) {
			return false
		}
	case devicestream.TypeAlertInboxChanged:
		if d.Category != "" && !access.Has(v.roles, access.Alert(d.Category)...) {
			return false
		}
	}
	return d.PropertyID == "" || slices.Contains(v.scope, d.PropertyID)
}

// ownLogoutIn reports whether entries carry this session's forceLogout,
// which must still reach the desktop although the session is no longer
// open.
func (v viewer) ownLogoutIn(entries []redis.XMessage) bool {
	for _, m := range entries {
		typ, _ := m.Values["type"].(string)
		data, _ := m.Values["data"].(string)
		if typ == devicestream.TypeForceLogout && v.allows(typ, data) {
			return true
		}
	}
	return false
}

// start finds where the stream resumes: after last when the entries after
// it are provably all still there, else at the stream's end with a resync
// reason. It returns the first entries to send.
func (s *Server) start(ctx context.Context, stream, last string, known bool) (pos string, pending []redis.XMessage, reason string, err error) {
	tail, err := s.rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return "", nil, "", fmt.Errorf("tail of %s: %w", stream, err)
	}
	end := "0-0"
	if len(tail) > 0 {
		end = tail[0].ID
	}
	if last == "" {
		return end, nil, "", nil
	}
	if !known {
		return end, nil, "away", nil
	}
	if last == end {
		return last, nil, "", nil
	}
	if len(tail) == 0 || idLess(end, last) {
		// Nothing of this stream is newer, yet the client saw an id this
		// stream never had (it expired and started again, or the id is
		// invented).
		if last == "0-0" {
			return last, nil, "", nil
		}
		return end, nil, "unknown", nil
	}
	pending, err = s.after(ctx, stream, last)
	if err != nil {
		return "", nil, "", err
	}
	if len(pending) > 0 {
		switch prev, _ := pending[0].Values["prev"].(string); {
		case prev == last:
			return last, pending, "", nil
		case idLess(last, prev):
			return end, nil, "trimmed", nil
		}
	}
	return end, nil, "unknown", nil
}

func (s *Server) after(ctx context.Context, stream, pos string) ([]redis.XMessage, error) {
	msgs, err := s.rdb.XRangeN(ctx, stream, "("+pos, "+", batch).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s after %s: %w", stream, pos, err)
	}
	return msgs, nil
}

func parseID(id string) (ms, seq uint64, ok bool) {
	if !streamID.MatchString(id) {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(id, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

// idLess orders stream ids; ids come from Redis or were validated.
func idLess(a, b string) bool {
	am, as, _ := parseID(a)
	bm, bs, _ := parseID(b)
	return am < bm || am == bm && as < bs
}

// globEscape quotes the glob characters of a key prefix for PSUBSCRIBE.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sseWriter keeps the first write error, so the loop checks once.
type sseWriter struct {
	w   http.ResponseWriter
	err error
}

func (sw *sseWriter) printf(format string, args ...any) {
	if sw.err == nil {
		_, sw.err = fmt.Fprintf(sw.w, format, args...)
	}
}

// event writes one block; data is JSON (one line), split defensively so a
// newline could never end the block early.
func (sw *sseWriter) event(id, typ string, data []byte) {
	if !json.Valid(data) {
		slog.Warn("events: entry data is not JSON", "id", id)
		data = []byte("null")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nevent: %s\n", id, typ)
	for line := range strings.SplitSeq(string(data), "\n") {
		fmt.Fprintf(&b, "data: %s\n", strings.TrimSuffix(line, "\r"))
	}
	b.WriteString("\n")
	sw.printf("%s", b.String())
}
