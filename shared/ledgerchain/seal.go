package ledgerchain

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// SealOptions tune Seal; zero values take the defaults.
type SealOptions struct {
	// BatchRows is the rows sealed per transaction (default 5,000): the
	// links of a batch are held in memory until they are written.
	BatchRows int
	// MaxRows bounds one call (default 0: until the horizon).
	MaxRows int64
	// AfterHash, when set, runs in each seal transaction after the rows
	// are read and hashed and before the links are written: the
	// transaction is idle in the database meanwhile, as on a busy
	// instance. Tests use it; an error ends the call.
	AfterHash func(ctx context.Context) error
}

// SealSummary is what a Seal call did.
type SealSummary struct {
	Rows    int64 `json:"rows"`
	Batches int   `json:"batches"`
	// Position is the end of the sealed range, "xid/id".
	Position string `json:"position"`
}

// rowColumns are an activity row's columns as scanRow reads them.
const rowColumns = `a.id, a.tenant_id, a.property_id, a.operator_id, a.device_id, a.session_id, a.occurred_at,
       a.category, a.action, a.resource_kind, a.resource_id, a.outcome, a.latency_ms,
       a.error_code, a.error_message, a.context_hash, a.request_id`

func scanRow(r *Row, dest ...any) []any {
	return append(dest, &r.ID, &r.TenantID, &r.PropertyID, &r.OperatorID, &r.DeviceID, &r.SessionID, &r.OccurredAt,
		&r.Category, &r.Action, &r.ResourceKind, &r.ResourceID, &r.Outcome, &r.LatencyMs,
		&r.ErrorCode, &r.ErrorMessage, &r.ContextHash, &r.RequestID)
}

// link is a sealed row's chain entry.
type link struct {
	tenant, id, xid      string
	seq                  int64
	occurred             time.Time
	row, prev, chainHash Hash
}

type head struct {
	seq  int64
	hash Hash
}

// Seal chains the rows committed since the last seal, batch by batch, each
// batch one transaction of db (the jobs role's pool). Sealers exclude each
// other on the seal position's row, so two at once seal one after the
// other, never the same row twice.
func Seal(ctx context.Context, db *pg.DB, o SealOptions) (_ SealSummary, err error) {
	defer derrors.Wrap(&err, "ledgerchain.Seal")
	if o.BatchRows <= 0 {
		o.BatchRows = 5000
	}
	var sum SealSummary
	for o.MaxRows <= 0 || sum.Rows < o.MaxRows {
		limit := o.BatchRows
		if o.MaxRows > 0 {
			limit = int(min(int64(limit), o.MaxRows-sum.Rows))
		}
		var n int
		err := db.InJobsTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			n, sum.Position, err = sealBatch(ctx, tx, limit, o.AfterHash)
			return err
		})
		if err != nil {
			return sum, err
		}
		if n == 0 {
			return sum, nil
		}
		sum.Rows += int64(n)
		sum.Batches++
		if n < limit {
			return sum, nil
		}
	}
	return sum, nil
}

// sealTimeout bounds one seal transaction's statements and its idle gaps
// (the hashing between them): the jobs pool's timeouts are sized for short
// queries, and a seal cut off there would only be retried from scratch.
const sealTimeout = "120000" // ms

func sealBatch(ctx context.Context, tx pgx.Tx, limit int, afterHash func(context.Context) error) (int, string, error) {
	var posXID, posID, horizon string
	if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $1, true)`, sealTimeout); err != nil {
		return 0, "", err
	}
	if err := tx.QueryRow(ctx, `SELECT sealed_xid::text, sealed_id FROM bff.activity_chain_seal FOR UPDATE`).Scan(&posXID, &posID); err != nil {
		return 0, "", err
	}
	// After the lock: a sealer that waited sees its predecessor's work.
	if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&horizon); err != nil {
		return 0, "", err
	}
	rows, err := tx.Query(ctx, `SELECT a.recorded_xid::text, `+rowColumns+`
  FROM bff.operator_activity a
 WHERE (a.recorded_xid, a.id) > ($1::xid8, $2) AND a.recorded_xid < $3::xid8
 ORDER BY a.recorded_xid, a.id LIMIT $4`, posXID, posID, horizon, limit)
	if err != nil {
		return 0, "", err
	}
	var links []link
	for rows.Next() {
		var r Row
		var xid string
		if err := rows.Scan(scanRow(&r, &xid)...); err != nil {
			rows.Close()
			return 0, "", err
		}
		links = append(links, link{tenant: r.TenantID, id: r.ID, xid: xid, occurred: r.OccurredAt, row: RowHash(&r)})
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	pos := posXID + "/" + posID
	if len(links) == 0 {
		return 0, pos, nil
	}

	heads, err := loadHeads(ctx, tx, links)
	if err != nil {
		return 0, "", err
	}
	var (
		tenant, id, xid     []string
		seq                 []int64
		occurred            []time.Time
		rowH, prevH, chainH [][]byte
		touched             []string
		seen                = map[string]bool{}
	)
	for i := range links {
		l := &links[i]
		h := heads[l.tenant]
		l.seq, l.prev = h.seq+1, h.hash
		l.chainHash = ChainHash(l.tenant, l.seq, l.prev, l.row)
		heads[l.tenant] = head{seq: l.seq, hash: l.chainHash}
		if !seen[l.tenant] {
			seen[l.tenant] = true
			touched = append(touched, l.tenant)
		}
		tenant, id, xid, seq, occurred = append(tenant, l.tenant), append(id, l.id), append(xid, l.xid), append(seq, l.seq), append(occurred, l.occurred)
		rowH, prevH, chainH = append(rowH, l.row[:]), append(prevH, l.prev[:]), append(chainH, l.chainHash[:])
	}
	if afterHash != nil {
		if err := afterHash(ctx); err != nil {
			return 0, "", err
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO bff.activity_chain
  (tenant_id, seq, activity_id, recorded_xid, occurred_at, row_hash, prev_hash, chain_hash)
SELECT t, s, i, x::xid8, o, r, p, c
  FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[], $7::bytea[], $8::bytea[])
       AS u(t, s, i, x, o, r, p, c)`,
		tenant, seq, id, xid, occurred, rowH, prevH, chainH); err != nil {
		return 0, "", err
	}
	hs, hh := make([]int64, len(touched)), make([][]byte, len(touched))
	for i, t := range touched {
		h := heads[t]
		hs[i], hh[i] = h.seq, append([]byte(nil), h.hash[:]...)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO bff.activity_chain_head (tenant_id, seq, chain_hash)
SELECT * FROM unnest($1::text[], $2::int8[], $3::bytea[])
ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, chain_hash = excluded.chain_hash`, touched, hs, hh); err != nil {
		return 0, "", err
	}
	last := links[len(links)-1]
	if _, err := tx.Exec(ctx, `UPDATE bff.activity_chain_seal SET sealed_xid = $1::xid8, sealed_id = $2, sealed_at = now()`, last.xid, last.id); err != nil {
		return 0, "", err
	}
	return len(links), last.xid + "/" + last.id, nil
}

// loadHeads returns the current head of every tenant in links (Genesis at
// seq 0 for a tenant not chained yet).
func loadHeads(ctx context.Context, tx pgx.Tx, links []link) (map[string]head, error) {
	heads := map[string]head{}
	var tenants []string
	for _, l := range links {
		if _, ok := heads[l.tenant]; !ok {
			heads[l.tenant] = head{hash: Genesis}
			tenants = append(tenants, l.tenant)
		}
	}
	rows, err := tx.Query(ctx, `SELECT tenant_id, seq, chain_hash FROM bff.activity_chain_head WHERE tenant_id = ANY($1)`, tenants)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var s int64
		var b []byte
		if err := rows.Scan(&t, &s, &b); err != nil {
			return nil, err
		}
		h, ok := hashOf(b)
		if !ok {
			return nil, errors.New("a chain head's hash is not 32 bytes")
		}
		heads[t] = head{seq: s, hash: h}
	}
	return heads, rows.Err()
}
