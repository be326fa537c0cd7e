package activity_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

// The benchmarks report rows/s; the ledger must sustain ≥ 20,000 rows/s with RLS on
// and the ratio to BenchmarkRawCopy. They only run under -bench and assert
// nothing about time.
//
//	go test -run '^$' -bench . -benchtime 20000x ./activity/

var benchTenants = []string{ids.New(ids.Tenant), ids.New(ids.Tenant), ids.New(ids.Tenant)}

// benchEntries are a few operators' entries, reused so that the benchmark
// measures writing rather than making ids; Record gives each row its own id.
var benchEntries = func() []activity.Entry {
	out := make([]activity.Entry, 30)
	for i := range out {
		out[i] = entry(benchTenants[i%len(benchTenants)])
	}
	return out
}()

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLedgerRecord: serial is one caller, so every Record is its own
// transaction (the idle path: no linger); parallel is many concurrent
// callers, as many requests of one instance would be, sharing transactions.
func BenchmarkLedgerRecord(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		db, _ := testenv.Postgres(b)
		l := activity.NewLedger(db, activity.Options{})
		defer l.Close()
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := l.Record(ctx, benchEntries[i%len(benchEntries)]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportRows(b, b.N)
	})
	for _, callers := range []int{16, 64, 256} {
		b.Run("parallel/callers="+strconv.Itoa(callers), func(b *testing.B) {
			db, _ := testenv.Postgres(b)
			l := activity.NewLedger(db, activity.Options{})
			defer l.Close()
			ctx := context.Background()
			var n atomic.Uint64
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if err := l.Record(ctx, benchEntries[i%uint64(len(benchEntries))]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			reportRows(b, b.N)
			s := l.Stats()
			b.ReportMetric(float64(s.Rows)/float64(max(1, s.Batches)), "rows/batch")
		})
	}
}

// BenchmarkRawCopy is the baseline: COPY of the same rows into the same
// table by a superuser, which bypasses RLS (COPY FROM is refused for a role
// subject to it), 1,000 rows per COPY.
func BenchmarkRawCopy(b *testing.B) {
	_, info := testenv.Postgres(b)
	ctx := context.Background()
	conn := adminConn(b, info)
	cols := []string{"id", "tenant_id", "property_id", "operator_id", "device_id", "session_id", "occurred_at",
		"category", "action", "outcome", "latency_ms", "request_id"}
	const chunk = 1000
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		rows := make([][]any, n)
		for i := range rows {
			e := benchEntries[(done+i)%len(benchEntries)]
			rows[i] = []any{ids.New(ids.Activity), e.TenantID, e.PropertyID, e.OperatorID, e.DeviceID, e.SessionID,
				time.Now().Truncate(time.Millisecond), string(e.Category), e.Action, string(e.Outcome), int32(e.LatencyMs), e.RequestID}
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"bff", "operator_activity"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRows(b, b.N)
}
