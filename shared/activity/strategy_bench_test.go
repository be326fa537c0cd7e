package activity

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// BenchmarkWriteStrategies is the measurement behind Ledger.write's choice:
// how to write one batch of several tenants' rows. Only "pipelined" is
// production code; the others are rebuilt here with the same statements.
//
//	go test -run '^$' -bench WriteStrategies -benchtime 2s ./activity/
func BenchmarkWriteStrategies(b *testing.B) {
	tenants := []string{ids.New(ids.Tenant), ids.New(ids.Tenant), ids.New(ids.Tenant)}
	strategies := []struct {
		name  string
		write func(ctx context.Context, db *pg.DB, tenants []string, by map[string][]Entry) error
	}{
		{"pipelined", func(ctx context.Context, db *pg.DB, tenants []string, by map[string][]Entry) error {
			var tb pg.TenantBatch
			for _, t := range tenants {
				queueInsert(&tb, t, by[t])
			}
			return db.SendTenantBatch(ctx, &tb)
		}},
		{"pipelined-values", func(ctx context.Context, db *pg.DB, tenants []string, by map[string][]Entry) error {
			var tb pg.TenantBatch
			for _, t := range tenants {
				sql, args := valuesInsert(by[t])
				tb.Queue(t, sql, args...)
			}
			return db.SendTenantBatch(ctx, &tb)
		}},
		{"one-tx-roundtrip-per-statement", func(ctx context.Context, db *pg.DB, tenants []string, by map[string][]Entry) error {
			tx, err := db.Pool().Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			for _, t := range tenants {
				if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", t); err != nil {
					return err
				}
				if err := insert(ctx, tx, by[t]); err != nil {
					return err
				}
			}
			return tx.Commit(ctx)
		}},
		{"tx-per-tenant", func(ctx context.Context, db *pg.DB, tenants []string, by map[string][]Entry) error {
			for _, t := range tenants {
				if err := db.InTenantTx(ctx, t, func(ctx context.Context, tx pgx.Tx) error { return insert(ctx, tx, by[t]) }); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, size := range []int{10, 100, 1000} {
		for _, s := range strategies {
			b.Run(s.name+"/rows="+strconv.Itoa(size), func(b *testing.B) {
				db, _ := testenv.Postgres(b)
				ctx := context.Background()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					ts, by := groupByTenant([]*request{{entries: benchBatch(b, size, tenants)}})
					b.StartTimer()
					if err := s.write(ctx, db, ts, by); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

func benchBatch(b *testing.B, n int, tenants []string) []Entry {
	op, dev := ids.New(ids.Operator), ids.New(ids.Device)
	out := make([]Entry, n)
	for i := range out {
		e, err := normalize(Entry{
			TenantID: tenants[i%len(tenants)], OperatorID: op, DeviceID: dev, Category: CategoryView,
			Action: "dashboard.viewed", Outcome: OutcomeSuccess, LatencyMs: 3, RequestID: "req",
		}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// valuesInsert is insertSQL as a multi-row VALUES list.
func valuesInsert(es []Entry) (string, []any) {
	const ncol = 17
	var sb strings.Builder
	sb.WriteString(insertSQL[:strings.Index(insertSQL, "SELECT")])
	sb.WriteString("VALUES ")
	args := make([]any, 0, len(es)*ncol)
	c := columnsOf(es)
	cols := c.args()
	for i := range es {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for j := range ncol {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("$" + strconv.Itoa(i*ncol+j+1))
		}
		sb.WriteByte(')')
		for _, col := range cols {
			args = append(args, index(col, i))
		}
	}
	sb.WriteString(" ON CONFLICT (id) DO NOTHING")
	return sb.String(), args
}

func index(col any, i int) any {
	switch c := col.(type) {
	case []time.Time:
		return c[i]
	case []int32:
		return c[i]
	default:
		return col.([]pgtype.Text)[i]
	}
}
