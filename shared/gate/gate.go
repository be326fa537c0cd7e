// Package gate is the authenticated request pipeline every HTTP function
// shares: verify the token, resolve (or open) the device's session, run the
// handler, record the operator-activity row, and only then answer.
//
// The activity row is committed before the response is written: Cloud Run
// throttles a function's CPU once the response is sent, so anything left for
// "after the response" may never run, and an audit row must never be lost.
package gate

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/auth"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/events"
	"github.com/melmastoon/bff-backoffice/shared/httpx"
	"github.com/melmastoon/bff-backoffice/shared/logging"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// Verifier checks a request's bearer token.
type Verifier interface {
	Verify(ctx context.Context, authorization string) (auth.Principal, error)
}

// Recorder commits activity rows; *activity.Ledger is the one used in
// every deployment.
type Recorder = activity.Recorder

// Gate holds the dependencies of the pipeline; build one per instance.
type Gate struct {
	Verifier  Verifier
	Sessions  *session.Manager
	Ledger    Recorder
	Publisher events.Publisher
	Log       *slog.Logger
	// PublishTimeout bounds the wait for telemetry events.
	PublishTimeout time.Duration
	// ProxyHops is how many X-Forwarded-For entries trusted proxies append
	// (the load balancer appends the client's address and its own: 2).
	// The client's address is the entry that many from the end; anything
	// before it is whatever the client sent. 0 trusts no header.
	ProxyHops int
}

// Call is what a handler gets: the verified principal, the session, the
// actor the library is called with, and the activity note of the request.
type Call struct {
	Principal auth.Principal
	Session   *session.Session
	// Actor is the operator as the domain packages take it, built from the
	// principal and the resolved session.
	Actor   actor.Actor
	Request *http.Request
	// Note is the request's activity row: the handler sets it, usually to
	// what the library returned. A Note without an Action gets no row; a
	// Recorded one was committed by the action itself, so the gate writes
	// none (not even a failure row: the action did commit).
	Note activity.Note
	// Opened is true on the request that opened the session.
	Opened bool
	// BodySHA256 is the SHA-256 of the request body, set by a layer that
	// reads the whole body (idemhttp) so the row's contextHash covers it.
	BodySHA256 []byte
	g          *Gate
}

// entry is the activity row of note n with outcome herr, its contextHash
// the request's unless the action set its own.
func (c *Call) entry(n activity.Note, herr error) activity.Entry {
	if n.ContextHash == "" {
		r := c.Request
		n.ContextHash = activity.ContextHash(r.Method, r.URL.Path, r.URL.Query(), c.Actor.SessionID, c.BodySHA256)
	}
	return activity.EntryOf(c.Actor, n, herr)
}

// Result is a handler's successful answer. A nil Body writes no body.
type Result struct {
	Status int
	Body   any
	Header http.Header
	// Raw, when not nil, is the body already encoded, written as is in
	// place of Body with Header's Content-Type (application/json when
	// unset): idempotent replays must repeat stored bytes exactly, and
	// re-encoding would compact them and force application/json on a
	// stored problem+json.
	Raw []byte
	// Stream, when not nil, answers in place of Status/Body/Raw (Header is
	// still applied first): the gate calls it after the activity row is
	// committed, with the request's context, and it writes status and body
	// itself for as long as it streams (GET /v1/events).
	Stream func(ctx context.Context, w http.ResponseWriter)
}

// Handler is a function's business: decode, authorize, call the library,
// return a result.
type Handler func(ctx context.Context, c *Call) (Result, error)

// Prefetcher reads ahead what a route's handler will want from Redis, in
// the session's resolve round trip (redisx.Rider): guess is the actor as
// this instance last saw the device's session. It returns ctx carrying
// what the handler will look for and the rider to send (nil: none). The
// handler must use the answer only when the resolved request wants the
// very same thing: a guess is never trusted, only checked.
type Prefetcher func(ctx context.Context, guess actor.Actor, r *http.Request) (context.Context, redisx.Rider)

// Route is a handler and, optionally, its Prefetcher.
type Route struct {
	Handler Handler
	Ahead   Prefetcher
}

// Handle wraps h in the pipeline. The returned handler expects httpx.Wrap
// outside it (request id, logger, recovery).
func (g *Gate) Handle(h Handler) http.Handler { return g.HandleRoute(Route{Handler: h}) }

// HandleRoute is Handle with the route's Prefetcher, if any.
func (g *Gate) HandleRoute(rt Route) http.Handler {
	h := rt.Handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		p, err := g.Verifier.Verify(ctx, r.Header.Get("Authorization"))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		client, err := clientOf(r, g.ProxyHops)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		c := &Call{Principal: p, Request: r, g: g, Actor: actor.Actor{
			TenantID: p.TenantID, OperatorID: p.OperatorID, DeviceID: p.DeviceID,
			RequestID: httpx.RequestID(ctx), Start: start, TokenExpiresAt: p.ExpiresAt,
		}}
		var rider redisx.Rider
		if rt.Ahead != nil {
			if known := g.Sessions.Known(p); known != nil {
				ctx, rider = rt.Ahead(ctx, withSession(c.Actor, known), r)
			}
		}
		s, opened, err := g.Sessions.Resolve(ctx, p, r.Header.Get("X-Session-Id"), client, rider)
		if err != nil {
			g.refuse(w, r, c, err)
			return
		}
		c.Session, c.Opened = s, opened
		c.Actor = withSession(c.Actor, s)
		w.Header().Set("X-Session-Id", s.ID)
		ctx = session.WithSession(ctx, s)
		ctx = logging.WithAttrs(ctx, slog.String("tenantId", p.TenantID), slog.String("operatorId", p.OperatorID), slog.String("sessionId", s.ID))

		res, herr := h(ctx, c)

		var rows []activity.Entry
		if opened {
			rows = append(rows, c.entry(activity.Note{Category: activity.CategoryAuth, Action: activity.ActionSessionOpened, PropertyID: s.DefaultProperty(), Resource: &activity.Ref{Kind: "session", ID: s.ID}}, nil))
		}
		if c.Note.Action != "" && !c.Note.Recorded {
			rows = append(rows, c.entry(c.Note, herr))
		}
		if len(rows) > 0 {
			if err := g.Ledger.Record(ctx, rows...); err != nil {
				if opened {
					// Without its auth row the session must not exist: the
					// next request opens and records it again.
					g.Sessions.Discard(ctx, s)
				}
				httpx.WriteError(w, r, err)
				return
			}
		}
		if opened {
			ev, err := session.OpenedEvent(s)
			g.publish(ctx, ev, err)
		}
		if herr != nil {
			httpx.WriteError(w, r, herr)
			return
		}
		for k, vs := range res.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if res.Stream != nil {
			res.Stream(ctx, w)
			return
		}
		if res.Raw != nil {
			writeRaw(w, res.Status, res.Raw)
			return
		}
		if res.Body == nil {
			w.WriteHeader(res.Status)
			return
		}
		httpx.WriteJSON(w, r, res.Status, res.Body)
	})
}

// writeRaw sends a pre-encoded body with the same headers httpx puts on
// the bodies it encodes.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// refuse answers a request whose session could not be resolved, recording
// an auth failure for the verified operator first (a revoked token in use
// is exactly what an auditor wants to see).
func (g *Gate) refuse(w http.ResponseWriter, r *http.Request, c *Call, err error) {
	code := apperr.CodeOf(err)
	switch code {
	case apperr.SessionRevoked, apperr.SessionDeviceMismatch, apperr.NoPropertyScope, apperr.Unauthenticated:
		row := c.entry(activity.Note{Category: activity.CategoryAuth, Action: activity.ActionSessionRefused}, err)
		if rerr := g.Ledger.Record(r.Context(), row); rerr != nil {
			httpx.WriteError(w, r, rerr)
			return
		}
	}
	httpx.WriteError(w, r, err)
}

// withSession completes a with what session s grants.
func withSession(a actor.Actor, s *session.Session) actor.Actor {
	a.SessionID = s.ID
	a.Roles = s.Roles
	a.PropertyScope = s.PropertyScope
	a.PrimaryPropertyID = s.PrimaryPropertyID
	return a
}

// RecordNow commits the request's activity row before the handler goes on,
// for actions on stores that cannot share a transaction with the ledger
// (see activity.RecordNow); the gate then writes no row for the note.
func (c *Call) RecordNow(ctx context.Context) (err error) {
	defer derrors.Wrap(&err, "gate.Call.RecordNow")
	if c.Note.ContextHash == "" {
		r := c.Request
		c.Note.ContextHash = activity.ContextHash(r.Method, r.URL.Path, r.URL.Query(), c.Actor.SessionID, c.BodySHA256)
	}
	return activity.RecordNow(ctx, c.g.Ledger, c.Actor, &c.Note)
}

// RecordOutcome commits the request's activity row now, as the outcome
// herr (nil: success), unless the handler set no note or its row is
// committed already; the gate then writes no row for the note. A layer
// that stores the answer (idemhttp) calls it first, so no stored answer
// lacks its row.
func (c *Call) RecordOutcome(ctx context.Context, herr error) (err error) {
	defer derrors.Wrap(&err, "gate.Call.RecordOutcome")
	if c.Note.Action == "" || c.Note.Recorded {
		return nil
	}
	if err := c.g.Ledger.Record(ctx, c.entry(c.Note, herr)); err != nil {
		return err
	}
	c.Note.Recorded = true
	return nil
}

// Property resolves the property a property-scoped request is about: the
// `propertyId` query parameter, else the session's default. It must be in
// the session's scope.
func (c *Call) Property() (string, error) {
	return c.Actor.Property("propertyId", c.Request.URL.Query().Get("propertyId"))
}

// CheckProperty validates a property id named anywhere in a request.
func (c *Call) CheckProperty(field, id string) error { return c.Actor.CheckProperty(field, id) }

// RequireRole fails with FORBIDDEN_ROLE unless the session has one of roles.
func (c *Call) RequireRole(roles ...string) error { return c.Actor.RequireRole(roles...) }

// Mux is the whole HTTP surface of a function: its routes ("GET /v1/alerts"
// → handler) behind the gate, /health, 405 with Allow on its paths, and
// problem+json 404 for everything else.
func (g *Gate) Mux(routes map[string]Handler) http.Handler {
	rs := make(map[string]Route, len(routes))
	for route, h := range routes {
		rs[route] = Route{Handler: h}
	}
	return g.Routes(rs)
}

// Routes is Mux for routes that may read ahead (Route.Ahead).
func (g *Gate) Routes(routes map[string]Route) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", httpx.Health)
	methods := map[string][]string{}
	for route, rt := range routes {
		mux.Handle(route, g.HandleRoute(rt))
		method, path, _ := strings.Cut(route, " ")
		methods[path] = append(methods[path], method)
	}
	for path, ms := range methods {
		// Map order is random; Allow must not be.
		slices.SortFunc(ms, func(a, b string) int { return methodRank(a) - methodRank(b) })
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { httpx.Methods(w, r, ms...) })
	}
	mux.HandleFunc("/", httpx.NotFound)
	return mux
}

// methodRank orders methods the way the contract lists them.
func methodRank(m string) int {
	if i := slices.Index([]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, m); i >= 0 {
		return i
	}
	return 99
}

func (g *Gate) publish(ctx context.Context, ev events.Envelope, err error) {
	log := logging.From(ctx)
	if err != nil {
		log.ErrorContext(ctx, "build event", "err", err)
		return
	}
	timeout := g.PublishTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := g.Publisher.Publish(pctx, ev); err != nil {
		log.WarnContext(ctx, "publish telemetry event", "subject", ev.Subject, "err", err)
	}
}

// Publish sends a telemetry event, waiting for it (the CPU may be gone
// after the response) but never failing the request for it.
func (c *Call) Publish(ctx context.Context, ev events.Envelope, err error) { c.g.publish(ctx, ev, err) }

// clientOf reads the desktop's self-description headers; present but
// malformed values are a 400, absent ones are fine.
func clientOf(r *http.Request, hops int) (session.Client, error) {
	c := session.Client{
		AppVersion:     r.Header.Get("X-App-Version"),
		AppPlatform:    r.Header.Get("X-App-Platform"),
		NetworkProfile: r.Header.Get("X-Network-Profile"),
		UserAgent:      r.UserAgent(),
		IP:             ClientIP(r, hops),
	}
	var bad []apperr.FieldError
	if c.AppVersion != "" && !session.ValidAppVersion(c.AppVersion) {
		bad = append(bad, apperr.FieldError{Field: "X-App-Version", Message: "must be 1-40 of [0-9A-Za-z.+_-]"})
	}
	if c.AppPlatform != "" && !session.ValidPlatform(c.AppPlatform) {
		bad = append(bad, apperr.FieldError{Field: "X-App-Platform", Message: "must be win32, darwin or linux"})
	}
	if c.NetworkProfile != "" && !session.ValidNetworkProfile(c.NetworkProfile) {
		bad = append(bad, apperr.FieldError{Field: "X-Network-Profile", Message: "must be good, flaky or offline-recently"})
	}
	if len(bad) > 0 {
		return c, apperr.Validation(bad...)
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		first, _, _ := strings.Cut(al, ",")
		first, _, _ = strings.Cut(strings.TrimSpace(first), ";")
		if session.ValidLocale(first) {
			c.Locale = first
		}
	}
	return c, nil
}

// ClientIP is the client's address as the trusted proxies saw it: the
// X-Forwarded-For entry hops from the end (the first entries are the
// client's to invent), else the peer's address when the header is missing,
// too short or not an address there — a request that did not come through
// the proxies.
func ClientIP(r *http.Request, hops int) string {
	if hops > 0 {
		var entries []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for e := range strings.SplitSeq(h, ",") {
				entries = append(entries, strings.TrimSpace(e))
			}
		}
		if i := len(entries) - hops; i >= 0 && net.ParseIP(entries[i]) != nil {
			return entries[i]
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
