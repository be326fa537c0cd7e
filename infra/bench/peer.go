package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/melmastoon/bff-backoffice/infra/fakes/iam"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// The peer is what a team would write in place of the gate with common
// tools, the obvious way, so the report shows the project against it as
// well as against the bare floor. One net/http server; per request:
//   - the bearer token verified with golang-jwt (signature, iss, aud, exp),
//     no cache of verified tokens;
//   - the session read with a Redis GET and checked against the token;
//   - the cached dashboard read with a second GET;
//   - the activity row INSERTed in its own transaction (BEGIN, set_config
//     of the tenant for row-level security, INSERT, COMMIT) before the
//     answer: the same durability as the gate's row, without group commit.
//
// It has no rate limit, no session renewal, no access re-read, no
// idempotency, no events and no problem+json: it is the floor of an
// honest implementation, not a rival one.

// peerSession is the peer's session record.
type peerSession struct {
	TenantID   string    `json:"tenantId"`
	OperatorID string    `json:"operatorId"`
	DeviceID   string    `json:"deviceId"`
	SessionID  string    `json:"sessionId"`
	PropertyID string    `json:"propertyId"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

const peerInsert = `INSERT INTO bff.operator_activity (
	id, tenant_id, property_id, operator_id, device_id, session_id, occurred_at,
	category, action, resource_kind, resource_id, outcome, latency_ms, context_hash, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'view', 'view.dashboard', 'dashboard', $3, 'success', $8, $9, $10)`

// servePeer starts the peer on a loopback port: GET /?i=n as identity
// who[n] at property props[n], answering the bytes stored under
// bench:payload:n. Sessions are written first, one per identity.
func servePeer(ctx context.Context, rdb *redisx.Client, appURL string, idp *iam.IAM, who []identity, props []string) (string, func(), error) {
	pub, err := idp.PublicKey(idp.KID(iam.ES256))
	if err != nil {
		return "", nil, fmt.Errorf("peer: %w", err)
	}
	for i, w := range who {
		s := peerSession{TenantID: w.tenantID, OperatorID: w.operatorID, DeviceID: w.deviceID,
			SessionID: w.sessionID, PropertyID: props[i], ExpiresAt: time.Now().Add(time.Hour)}
		b, err := json.Marshal(s)
		if err != nil {
			return "", nil, err
		}
		if err := rdb.Set(ctx, rdb.Key("bench", "peer", "session", strconv.Itoa(i)), b, time.Hour).Err(); err != nil {
			return "", nil, fmt.Errorf("peer: write session: %w", err)
		}
	}
	cfg, err := pgxpool.ParseConfig(appURL)
	if err != nil {
		return "", nil, fmt.Errorf("peer: %w", err)
	}
	cfg.MaxConns = 32 // the gate's pool size
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("peer: connect: %w", err)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(idp.Issuer()),
		jwt.WithAudience(idp.Audience()), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return pub, nil }

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), claims, keyFunc); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		i := r.URL.Query().Get("i")
		raw, err := rdb.Get(ctx, rdb.Key("bench", "peer", "session", i)).Bytes()
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		var s peerSession
		if err := json.Unmarshal(raw, &s); err != nil || time.Now().After(s.ExpiresAt) {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		sub, _ := claims["sub"].(string)
		tid, _ := claims["tid"].(string)
		if sub != s.OperatorID || tid != s.TenantID {
			http.Error(w, "session of another operator", http.StatusUnauthorized)
			return
		}
		body, err := rdb.Get(ctx, rdb.Key("bench", "payload", i)).Bytes()
		if err != nil {
			http.Error(w, "cache miss", http.StatusServiceUnavailable)
			return
		}
		if err := peerRow(ctx, pool, s, time.Since(start)); err != nil {
			http.Error(w, "ledger", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return "", nil, fmt.Errorf("peer: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		pool.Close()
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// peerRow writes the request's activity row the obvious way: its own
// transaction, committed before the answer.
func peerRow(ctx context.Context, pool *pgxpool.Pool, s peerSession, took time.Duration) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", s.TenantID); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, peerInsert, ids.New(ids.Activity), s.TenantID, s.PropertyID, s.OperatorID, s.DeviceID,
		s.SessionID, time.Now(), int32(took.Milliseconds()), strings.Repeat("0", 64), "peer-"+ids.New(ids.Activity))
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return nil
}
