package activity

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func mk(n int, tenants []string) []Entry {
	op, dev := ids.New(ids.Operator), ids.New(ids.Device)
	out := make([]Entry, n)
	for i := range out {
		e, _ := normalize(Entry{TenantID: tenants[i%len(tenants)], OperatorID: op, DeviceID: dev, Category: CategoryView, Action: "dashboard.viewed", Outcome: OutcomeSuccess, LatencyMs: 3, RequestID: "r"}, time.Now())
		out[i] = e
	}
	return out
}

func valuesInsert(ctx context.Context, tx pgx.Tx, es []Entry) error {
	var sb strings.Builder
	sb.WriteString("INSERT INTO bff.operator_activity (id, tenant_id, property_id, operator_id, device_id, session_id, occurred_at, category, action, resource_kind, resource_id, outcome, latency_ms, error_code, error_message, context_hash, request_id) VALUES ")
	args := make([]any, 0, len(es)*17)
	for i := range es {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for j := 0; j < 17; j++ {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(i*17 + j + 1))
		}
		sb.WriteByte(')')
		e := &es[i]
		args = append(args, text(e.ID), text(e.TenantID), text(e.PropertyID), text(e.OperatorID), text(e.DeviceID), text(e.SessionID), e.OccurredAt, text(string(e.Category)), text(e.Action), text(""), text(""), text(string(e.Outcome)), int32(e.LatencyMs), text(""), text(""), text(""), text(e.RequestID))
	}
	sb.WriteString(" ON CONFLICT (id) DO NOTHING")
	_, err := tx.Exec(ctx, sb.String(), args...)
	return err
}

func BenchmarkStrategy(b *testing.B) {
	tenants := []string{ids.New(ids.Tenant), ids.New(ids.Tenant), ids.New(ids.Tenant)}
	for _, size := range []int{10, 100, 1000} {
		for _, strat := range []string{"oneTx-unnest", "oneTx-values", "txPerTenant-unnest", "pipelined-unnest", "pipelinedTx-unnest"} {
			b.Run(fmt.Sprintf("%s/rows=%d", strat, size), func(b *testing.B) {
				db, _ := testenv.Postgres(b)
				ctx := context.Background()
				b.ResetTimer()
				rows := 0
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					es := mk(size, tenants)
					ts, by := groupByTenant([]*request{{entries: es}})
					b.StartTimer()
					var err error
					switch strat {
					case "oneTx-unnest":
						err = db.InTenantsTx(ctx, ts, func(ctx context.Context, tx pgx.Tx, t string) error { return insert(ctx, tx, by[t]) })
					case "oneTx-values":
						err = db.InTenantsTx(ctx, ts, func(ctx context.Context, tx pgx.Tx, t string) error { return valuesInsert(ctx, tx, by[t]) })
					case "txPerTenant-unnest":
						for _, t := range ts {
							if err = db.InTenantTx(ctx, t, func(ctx context.Context, tx pgx.Tx) error { return insert(ctx, tx, by[t]) }); err != nil {
								break
							}
						}
					case "pipelined-unnest", "pipelinedTx-unnest":
						bt := &pgx.Batch{}
						if strat == "pipelinedTx-unnest" {
							bt.BeginTx(pgx.TxOptions{})
						}
						for _, t := range ts {
							bt.Queue("SELECT set_config('app.tenant_id', $1, true)", t)
							c := newColumns(len(by[t]))
							for k := range by[t] {
								c.add(&by[t][k])
							}
							bt.Queue(insertSQL, c.args()...)
						}
						pc, aerr := db.Pool().Acquire(ctx)
						if aerr != nil {
							b.Fatal(aerr)
						}
						br := pc.SendBatch(ctx, bt)
						if strat == "pipelinedTx-unnest" {
							for range bt.Len() {
								if _, err = br.Exec(); err != nil {
									break
								}
							}
							tx := br.Tx()
							cerr := br.Close()
							if err == nil {
								err = cerr
							}
							if err == nil {
								err = tx.Commit(ctx)
							}
						} else {
							err = br.Close()
						}
						pc.Release()
					}
					if err != nil {
						b.Fatal(err)
					}
					rows += size
				}
				b.StopTimer()
				b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
