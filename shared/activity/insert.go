package activity

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/pg"
)

// insertSQL takes one array per column, so a batch of any size is one
// statement with one fixed text: it stays in pgx's statement cache, unlike a
// multi-row VALUES list whose text changes with the row count (measured by
// BenchmarkWriteStrategies: about the same at 100 rows, 1.35× the rows/s at
// 1000). COPY is not an option: Postgres refuses COPY FROM into a table with
// row-level security.
//
// ON CONFLICT DO NOTHING makes a retried batch exactly-once: a commit whose
// acknowledgement was lost is retried with the same ids.
const insertSQL = `INSERT INTO bff.operator_activity (
	id, tenant_id, property_id, operator_id, device_id, session_id, occurred_at,
	category, action, resource_kind, resource_id, outcome, latency_ms,
	error_code, error_message, context_hash, request_id)
SELECT * FROM unnest(
	$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
	$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int4[],
	$14::text[], $15::text[], $16::text[], $17::text[])
ON CONFLICT (id) DO NOTHING`

// InsertTx writes entries in tx, the transaction of an action that has its
// own writes, so that the action and its ledger rows commit together. tx
// must come from pg.DB.InTenantTx for the entries' tenant: row-level
// security rejects rows of any other tenant. Entries are checked first and
// none is written if one is invalid (the error wraps ErrInvalidEntry).
func InsertTx(ctx context.Context, tx pgx.Tx, entries ...Entry) (err error) {
	defer derrors.Wrap(&err, "activity.InsertTx")
	if len(entries) == 0 {
		return nil
	}
	norm, err := normalizeAll(entries, time.Now())
	if err != nil {
		return err
	}
	return insert(ctx, tx, norm)
}

// columns holds a batch column by column, as insertSQL takes it.
type columns struct {
	id, tenant, property, operator, device, session []pgtype.Text
	occurred                                        []time.Time
	category, action, resKind, resID, outcome       []pgtype.Text
	latency                                         []int32
	errCode, errMsg, ctxHash, request               []pgtype.Text
}

func newColumns(n int) *columns {
	t := func() []pgtype.Text { return make([]pgtype.Text, 0, n) }
	return &columns{
		id: t(), tenant: t(), property: t(), operator: t(), device: t(), session: t(),
		occurred: make([]time.Time, 0, n),
		category: t(), action: t(), resKind: t(), resID: t(), outcome: t(),
		latency: make([]int32, 0, n),
		errCode: t(), errMsg: t(), ctxHash: t(), request: t(),
	}
}

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func (c *columns) add(e *Entry) {
	c.id = append(c.id, text(e.ID))
	c.tenant = append(c.tenant, text(e.TenantID))
	c.property = append(c.property, text(e.PropertyID))
	c.operator = append(c.operator, text(e.OperatorID))
	c.device = append(c.device, text(e.DeviceID))
	c.session = append(c.session, text(e.SessionID))
	c.occurred = append(c.occurred, e.OccurredAt)
	c.category = append(c.category, text(string(e.Category)))
	c.action = append(c.action, text(e.Action))
	var kind, rid string
	if e.Resource != nil {
		kind, rid = e.Resource.Kind, e.Resource.ID
	}
	c.resKind = append(c.resKind, text(kind))
	c.resID = append(c.resID, text(rid))
	c.outcome = append(c.outcome, text(string(e.Outcome)))
	c.latency = append(c.latency, int32(e.LatencyMs))
	var code, msg string
	if e.Error != nil {
		code, msg = e.Error.Code, e.Error.Message
	}
	c.errCode = append(c.errCode, text(code))
	c.errMsg = append(c.errMsg, text(msg))
	c.ctxHash = append(c.ctxHash, text(e.ContextHash))
	c.request = append(c.request, text(e.RequestID))
}

func (c *columns) args() []any {
	return []any{
		c.id, c.tenant, c.property, c.operator, c.device, c.session, c.occurred,
		c.category, c.action, c.resKind, c.resID, c.outcome, c.latency,
		c.errCode, c.errMsg, c.ctxHash, c.request,
	}
}

func columnsOf(entries []Entry) *columns {
	c := newColumns(len(entries))
	for i := range entries {
		c.add(&entries[i])
	}
	return c
}

// insert writes already normalized entries.
func insert(ctx context.Context, tx pgx.Tx, entries []Entry) error {
	if _, err := tx.Exec(ctx, insertSQL, columnsOf(entries).args()...); err != nil {
		return fmt.Errorf("insert %d rows: %w", len(entries), err)
	}
	return nil
}

// queueInsert adds one tenant's already normalized entries to a batch.
func queueInsert(tb *pg.TenantBatch, tenantID string, entries []Entry) {
	tb.Queue(tenantID, insertSQL, columnsOf(entries).args()...)
}
