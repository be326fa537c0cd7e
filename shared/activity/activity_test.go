package activity_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func entry(tenant string) activity.Entry {
	return activity.Entry{
		TenantID:   tenant,
		PropertyID: ids.New(ids.Property),
		OperatorID: ids.New(ids.Operator),
		DeviceID:   ids.New(ids.Device),
		SessionID:  ids.New(ids.Session),
		Category:   activity.CategoryView,
		Action:     "dashboard.viewed",
		Outcome:    activity.OutcomeSuccess,
		LatencyMs:  12,
		RequestID:  "req-" + ids.New(ids.Event),
	}
}

const selectRows = `SELECT id, tenant_id, coalesce(property_id, ''), operator_id, device_id, coalesce(session_id, ''),
	occurred_at, category, action, resource_kind, resource_id, outcome, latency_ms, error_code, error_message,
	coalesce(context_hash, ''), request_id
	FROM bff.operator_activity ORDER BY id`

// readAll returns a tenant's rows as Entries, read back through RLS.
func readAll(t testing.TB, db *pg.DB, tenant string) []activity.Entry {
	t.Helper()
	var out []activity.Entry
	err := db.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, selectRows)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (activity.Entry, error) {
			var e activity.Entry
			var kind, rid, code, msg *string
			var cat, outcome string
			err := r.Scan(&e.ID, &e.TenantID, &e.PropertyID, &e.OperatorID, &e.DeviceID, &e.SessionID,
				&e.OccurredAt, &cat, &e.Action, &kind, &rid, &outcome, &e.LatencyMs, &code, &msg,
				&e.ContextHash, &e.RequestID)
			e.Category, e.Outcome = activity.Category(cat), activity.Outcome(outcome)
			e.OccurredAt = e.OccurredAt.UTC()
			if kind != nil {
				e.Resource = &activity.Ref{Kind: *kind, ID: *rid}
			}
			if code != nil {
				e.Error = &activity.ErrorInfo{Code: *code}
				if msg != nil {
					e.Error.Message = *msg
				}
			}
			return e, err
		})
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", tenant, err)
	}
	return out
}

// newLedger starts a ledger on db that is closed when the test ends, and
// returns it with a fresh tenant to write as.
func newLedger(t testing.TB, db *pg.DB, opts activity.Options) (*activity.Ledger, string) {
	t.Helper()
	l := activity.NewLedger(db, opts)
	t.Cleanup(l.Close)
	return l, ids.New(ids.Tenant)
}

// wantRows fails the test unless tenant has n rows, read back through RLS.
func wantRows(t testing.TB, db *pg.DB, tenant string, n int) {
	t.Helper()
	if got := len(readAll(t, db, tenant)); got != n {
		t.Errorf("rows of %s = %d, want %d", tenant, got, n)
	}
}

// adminConn connects as the superuser, for the fixtures and locks the app
// role cannot take; the connection closes when the test ends.
func adminConn(t testing.TB, info testenv.PGInfo) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), info.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	l, tenant := newLedger(t, db, activity.Options{})
	at := time.Date(2026, 11, 22, 7, 0, 0, 123456789, time.FixedZone("PKT", 5*3600))

	full := entry(tenant)
	full.ID = ids.New(ids.Activity)
	full.OccurredAt = at
	full.Category = activity.CategoryLockAction
	full.Action = "lock.revoke"
	full.Resource = &activity.Ref{Kind: "reservation", ID: ids.New(ids.Reservation)}
	full.Outcome = activity.OutcomeFailure
	full.Error = &activity.ErrorInfo{Code: string(apperr.UpstreamUnavailable), Message: "lock-service timed out — réessayer"}
	full.ContextHash = strings.Repeat("ab", 32)

	// An operator with no scope still gets an auth row: no property, no
	// session, no resource, no error message.
	bare := activity.Entry{
		ID:         ids.New(ids.Activity),
		TenantID:   tenant,
		OperatorID: ids.New(ids.Operator),
		DeviceID:   ids.New(ids.Device),
		OccurredAt: at.Add(time.Second),
		Category:   activity.CategoryAuth,
		Action:     "session.open",
		Outcome:    activity.OutcomeFailure,
		Error:      &activity.ErrorInfo{Code: string(apperr.NoPropertyScope)},
		RequestID:  "req-2",
	}

	if err := l.Record(context.Background(), full, bare); err != nil {
		t.Fatal(err)
	}
	wantFull := full
	wantFull.OccurredAt = at.UTC().Truncate(time.Millisecond)
	wantBare := bare
	wantBare.OccurredAt = bare.OccurredAt.UTC().Truncate(time.Millisecond)
	want := []activity.Entry{wantFull, wantBare}
	if want[0].ID > want[1].ID {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, readAll(t, db, tenant)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestRecordFillsIDAndTime(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	l, tenant := newLedger(t, db, activity.Options{})
	before := time.Now().Truncate(time.Millisecond)
	e := entry(tenant)
	if err := l.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if e.ID != "" {
		t.Errorf("Record changed the caller's entry: ID = %q", e.ID)
	}
	got := readAll(t, db, tenant)
	if len(got) != 1 {
		t.Fatalf("rows = %d, want 1", len(got))
	}
	if err := ids.Check(ids.Activity, got[0].ID); err != nil {
		t.Errorf("generated id %q: %v", got[0].ID, err)
	}
	if at := got[0].OccurredAt; at.Before(before) || at.After(time.Now()) || at.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("occurredAt = %v, want now at ms precision", at)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(*activity.Entry)
		field string // "" means valid
	}{
		{"valid", func(*activity.Entry) {}, ""},
		{"lower-case ulid refused", func(e *activity.Entry) { e.OperatorID = "op_" + strings.ToLower(ids.New(ids.Operator)[3:]) }, "operatorId"},
		{"max lengths", func(e *activity.Entry) {
			e.Action = strings.Repeat("é", activity.MaxAction)
			e.Resource = &activity.Ref{Kind: strings.Repeat("k", activity.MaxResourceKind), ID: strings.Repeat("界", activity.MaxResourceID)}
			e.Error = &activity.ErrorInfo{Code: strings.Repeat("C", activity.MaxErrorCode), Message: strings.Repeat("m", 5000) + "\x00\xff"}
			e.RequestID = strings.Repeat("r", activity.MaxRequestID)
			e.LatencyMs = 1<<31 - 1
		}, ""},
		{"no property, no session", func(e *activity.Entry) { e.PropertyID, e.SessionID = "", "" }, ""},
		{"bad id", func(e *activity.Entry) { e.ID = "act_nope" }, "id"},
		{"id of another kind", func(e *activity.Entry) { e.ID = ids.New(ids.Event) }, "id"},
		{"no tenant", func(e *activity.Entry) { e.TenantID = "" }, "tenantId"},
		{"tenant of wrong kind", func(e *activity.Entry) { e.TenantID = ids.New(ids.Property) }, "tenantId"},
		{"bad property", func(e *activity.Entry) { e.PropertyID = "prp_x" }, "propertyId"},
		{"bad operator", func(e *activity.Entry) { e.OperatorID = ids.New(ids.Device) }, "operatorId"},
		{"no device", func(e *activity.Entry) { e.DeviceID = "" }, "deviceId"},
		{"bad session", func(e *activity.Entry) { e.SessionID = "bos_1" }, "sessionId"},
		{"unknown category", func(e *activity.Entry) { e.Category = "browse" }, "category"},
		{"unknown outcome", func(e *activity.Entry) { e.Outcome = "ok" }, "outcome"},
		{"no action", func(e *activity.Entry) { e.Action = "" }, "action"},
		{"long action", func(e *activity.Entry) { e.Action = strings.Repeat("a", activity.MaxAction+1) }, "action"},
		{"NUL in action", func(e *activity.Entry) { e.Action = "a\x00b" }, "action"},
		{"invalid utf-8", func(e *activity.Entry) { e.Action = "a\xffb" }, "action"},
		{"resource without id", func(e *activity.Entry) { e.Resource = &activity.Ref{Kind: "reservation"} }, "resource.id"},
		{"negative latency", func(e *activity.Entry) { e.LatencyMs = -1 }, "latencyMs"},
		{"latency overflow", func(e *activity.Entry) { e.LatencyMs = 1 << 31 }, "latencyMs"},
		{"error without code", func(e *activity.Entry) { e.Error = &activity.ErrorInfo{Message: "x"} }, "error.code"},
		{"bad context hash", func(e *activity.Entry) { e.ContextHash = strings.Repeat("AB", 32) }, "contextHash"},
		{"no request id", func(e *activity.Entry) { e.RequestID = "" }, "requestId"},
		{"ancient", func(e *activity.Entry) { e.OccurredAt = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) }, "occurredAt"},
	}

	// Every valid case must also be accepted by the database, in one batch:
	// the Go checks must be at least as strict as the table's.
	db, _ := testenv.Postgres(t)
	l, tenant := newLedger(t, db, activity.Options{})
	var valid []activity.Entry

	for _, tc := range cases {
		e := entry(tenant)
		tc.edit(&e)
		err := l.Record(context.Background(), e)
		switch {
		case tc.field == "":
			if err != nil {
				t.Errorf("%s: Record = %v, want nil", tc.name, err)
			}
			valid = append(valid, e)
		case !errors.Is(err, activity.ErrInvalidEntry):
			t.Errorf("%s: Record = %v, want ErrInvalidEntry", tc.name, err)
		case !strings.Contains(err.Error(), tc.field+":"):
			t.Errorf("%s: error %q does not name %s", tc.name, err, tc.field)
		case apperr.CodeOf(err) != apperr.Internal:
			t.Errorf("%s: code %s, want INTERNAL (a caller bug, not the client's)", tc.name, apperr.CodeOf(err))
		}
	}
	wantRows(t, db, tenant, len(valid))
	if err := l.Record(context.Background(), valid...); err != nil {
		t.Errorf("all valid entries in one batch: %v", err)
	}
	if s := l.Stats(); s.FailedBatches != 0 {
		t.Errorf("failed batches = %d", s.FailedBatches)
	}
}

// TestConcurrentRecordBatches: 500 rows from 50 goroutines over 3 tenants all
// land exactly once, in their own tenant, in fewer transactions than rows.
func TestConcurrentRecordBatches(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	l := activity.NewLedger(db, activity.Options{})
	defer l.Close()
	tenants := []string{ids.New(ids.Tenant), ids.New(ids.Tenant), ids.New(ids.Tenant)}

	const goroutines, perGoroutine = 50, 10
	want := make(map[string][]string) // tenant -> ids
	var mu sync.Mutex
	errs := make(chan error, goroutines*perGoroutine)
	testenv.AtOnce(goroutines, func(g int) {
		for i := range perGoroutine {
			e := entry(tenants[(g+i)%len(tenants)])
			e.ID = ids.New(ids.Activity)
			mu.Lock()
			want[e.TenantID] = append(want[e.TenantID], e.ID)
			mu.Unlock()
			if err := l.Record(context.Background(), e); err != nil {
				errs <- err
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Errorf("Record: %v", err)
	}

	total := 0
	for _, tn := range tenants {
		var got []string
		for _, e := range readAll(t, db, tn) {
			got = append(got, e.ID)
		}
		w := want[tn]
		slices.Sort(w)
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("tenant %s rows (-want +got):\n%s", tn, diff)
		}
		total += len(got)
	}
	s := l.Stats()
	t.Logf("stats: %+v", s)
	if total != goroutines*perGoroutine || s.Rows != uint64(total) {
		t.Errorf("rows = %d, stats rows = %d; want %d", total, s.Rows, goroutines*perGoroutine)
	}
	if s.Batches >= s.Rows {
		t.Errorf("batches = %d for %d rows: no group commit", s.Batches, s.Rows)
	}
}

// TestBadEntryDoesNotFailBatchMates records invalid entries in the middle of
// a burst of valid ones: the bad calls fail alone.
func TestBadEntryDoesNotFailBatchMates(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	l, tenant := newLedger(t, db, activity.Options{})

	const n = 60
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := entry(tenant)
			if i%3 == 0 {
				e.Outcome = "exploded"
			}
			results[i] = l.Record(context.Background(), e)
		}()
	}
	wg.Wait()
	good := 0
	for i, err := range results {
		switch {
		case i%3 == 0 && !errors.Is(err, activity.ErrInvalidEntry):
			t.Errorf("bad entry %d: %v, want ErrInvalidEntry", i, err)
		case i%3 != 0 && err != nil:
			t.Errorf("good entry %d failed: %v", i, err)
		case i%3 != 0:
			good++
		}
	}
	wantRows(t, db, tenant, good)

	// All-or-nothing per call: one bad entry keeps its call's good ones out.
	other := ids.New(ids.Tenant)
	bad := entry(other)
	bad.Category = ""
	if err := l.Record(context.Background(), entry(other), bad); !errors.Is(err, activity.ErrInvalidEntry) {
		t.Errorf("mixed call = %v, want ErrInvalidEntry", err)
	}
	wantRows(t, db, other, 0)
}

// TestRecordIgnoresCancellation: the semantics chosen are that a Record
// commits whatever its context says, because the action it records has
// already happened; it returns only after the commit.
func TestRecordIgnoresCancellation(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	l, tenant := newLedger(t, db, activity.Options{})

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Record(cancelled, entry(tenant)); err != nil {
		t.Errorf("Record with a cancelled context = %v, want nil", err)
	}

	// Contexts cancelled while their callers queue behind a batch in flight
	// or lead one.
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			go cancel()
			if err := l.Record(ctx, entry(tenant)); err != nil {
				t.Errorf("Record = %v", err)
			}
		}()
	}
	wg.Wait()
	wantRows(t, db, tenant, 41)
}

// TestRecordWaitsForCommit holds a lock the insert needs, so the batch
// cannot commit; Record must not return (even with its context cancelled)
// until the lock is released and the rows are in.
func TestRecordWaitsForCommit(t *testing.T) {
	t.Parallel()
	db, info := testenv.Postgres(t)
	l, tenant := newLedger(t, db, activity.Options{WriteTimeout: 30 * time.Second})
	e := entry(tenant)
	e.ID = ids.New(ids.Activity)

	// A superuser transaction that inserted the same id holds its unique
	// index entry: the ledger's insert waits on it.
	admin := adminConn(t, info)
	blocker, err := admin.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(context.Background(), `INSERT INTO bff.operator_activity
		(id, tenant_id, operator_id, device_id, occurred_at, category, action, outcome, latency_ms, request_id)
		VALUES ($1, $2, $3, $4, now(), 'view', 'x', 'success', 0, 'r')`, e.ID, tenant, e.OperatorID, e.DeviceID); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Record(ctx, e, entry(tenant)) }()
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Record returned %v before its batch could commit", err)
	case <-time.After(300 * time.Millisecond):
	}
	// Roll back the blocker: the ledger's insert proceeds and commits both.
	if err := blocker.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Record = %v", err)
	}
	wantRows(t, db, tenant, 2)
}

func TestRecordDatabaseGone(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	proxy := testenv.PGProxy(t, info.AppURL)
	db := testenv.OpenPG(t, proxy.URL, 2)
	l, tenant := newLedger(t, db, activity.Options{WriteTimeout: time.Second})

	if err := l.Record(context.Background(), entry(tenant)); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	proxy.Cut()

	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Record(context.Background(), entry(tenant))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if apperr.CodeOf(err) != apperr.UpstreamUnavailable {
			t.Errorf("Record %d after the cut = %v, want UPSTREAM_UNAVAILABLE", i, err)
		}
	}
	if s := l.Stats(); s.FailedBatches == 0 || s.Batches != 1 {
		t.Errorf("stats = %+v, want 1 batch and some failed", s)
	}
}

// TestRecordSurvivesLostConnection: the pool's connection dies under the
// ledger (a failover); the batch is retried on a new one and every row is
// written once.
func TestRecordSurvivesLostConnection(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	proxy := testenv.PGProxy(t, info.AppURL)
	db := testenv.OpenPG(t, proxy.URL, 1)
	l, tenant := newLedger(t, db, activity.Options{WriteTimeout: 10 * time.Second})

	for round := range 3 {
		if err := l.Record(context.Background(), entry(tenant), entry(tenant)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		proxy.Reset()
	}
	wantRows(t, db, tenant, 6)
	if s := l.Stats(); s.Batches != 3 || s.FailedBatches != 0 {
		t.Errorf("stats = %+v, want 3 batches, none failed", s)
	}
}

// Close waits for the writes in flight: with the table locked, the
// callers' batch blocks in Postgres; Close does not return until the lock
// is released and the batch committed, then refuses new rows.
func TestCloseWaitsAndRefuses(t *testing.T) {
	t.Parallel()
	db, info := testenv.Postgres(t)
	l := activity.NewLedger(db, activity.Options{})
	tenant := ids.New(ids.Tenant)
	ctx := context.Background()

	admin := adminConn(t, info)
	lock, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(ctx) }()
	if _, err := lock.Exec(ctx, `LOCK TABLE bff.operator_activity IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	const n = 20
	results := make(chan error, n)
	for range n {
		go func() { results <- l.Record(ctx, entry(tenant)) }()
	}
	// Wait until a write of the ledger is blocked on the lock.
	waitFor(t, 30*time.Second, func() bool {
		var waiting int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND usename = 'bff_app'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		return waiting > 0
	})

	var committedAtClose uint64
	closed := make(chan struct{})
	go func() {
		l.Close()
		committedAtClose = l.Stats().Rows
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a write was blocked in Postgres")
	case <-time.After(300 * time.Millisecond):
	}
	if err := lock.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	<-closed

	ok := 0
	for range n {
		switch err := <-results; {
		case err == nil:
			ok++
		case !errors.Is(err, activity.ErrClosed):
			t.Errorf("Record: %v", err)
		}
	}
	rows := uint64(len(readAll(t, db, tenant)))
	if committedAtClose == 0 || rows != committedAtClose || uint64(ok) != committedAtClose || l.Stats().Rows != committedAtClose {
		t.Errorf("rows = %d, committed when Close returned = %d (want > 0), Records that succeeded = %d, committed now = %d",
			rows, committedAtClose, ok, l.Stats().Rows)
	}
	if err := l.Record(ctx, entry(tenant)); !errors.Is(err, activity.ErrClosed) {
		t.Errorf("Record after Close = %v, want ErrClosed", err)
	}
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInsertTxSharesTheActionsTransaction(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	ctx := context.Background()
	tenant, other := ids.New(ids.Tenant), ids.New(ids.Tenant)

	cases := []struct {
		name     string
		entries  []activity.Entry
		fnErr    error
		wantErr  bool
		wantRows int
	}{
		{"commits with the action", []activity.Entry{entry(tenant), entry(tenant)}, nil, false, 2},
		{"rolls back with the action", []activity.Entry{entry(tenant)}, errors.New("upstream said no"), true, 0},
		{"another tenant's row is refused", []activity.Entry{entry(other)}, nil, true, 0},
		{"invalid entry", []activity.Entry{{TenantID: tenant}}, nil, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(readAll(t, db, tenant))
			err := db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
				if err := activity.InsertTx(ctx, tx, tc.entries...); err != nil {
					return err
				}
				return tc.fnErr
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got := len(readAll(t, db, tenant)) - before; got != tc.wantRows {
				t.Errorf("new rows = %d, want %d", got, tc.wantRows)
			}
		})
	}
}

func TestRecordIsIdempotentByID(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	l, tenant := newLedger(t, db, activity.Options{})
	e := entry(tenant)
	e.ID = ids.New(ids.Activity)
	// A replayed offline action carries the same activity id: it is
	// written once, and a duplicate never fails the batch it rides in.
	for i := range 3 {
		if err := l.Record(context.Background(), e, entry(tenant)); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	wantRows(t, db, tenant, 4) // 1 replayed + 3 fresh
}

// A batch of successful or partial views commits without waiting for its
// disk flush; a refused view, any other category, or any other row in the
// same batch makes it wait; DurableViews makes every batch wait. Each
// Record here is alone in its batch, and its rows are readable as soon as
// it returns (the server has them).
func TestRelaxedBatchesAreViewsOnly(t *testing.T) {
	t.Parallel()
	db, _ := testenv.Postgres(t)
	tenant := ids.New(ids.Tenant)
	with := func(mod func(*activity.Entry)) activity.Entry {
		e := entry(tenant)
		mod(&e)
		return e
	}
	view := with(func(*activity.Entry) {})
	partial := with(func(e *activity.Entry) { e.Outcome = activity.OutcomePartial })
	refused := with(func(e *activity.Entry) {
		e.Outcome = activity.OutcomeFailure
		e.Error = &activity.ErrorInfo{Code: string(apperr.PropertyOutOfScope)}
	})
	auth := with(func(e *activity.Entry) { e.Category, e.Action = activity.CategoryAuth, "session.opened" })
	lockView := with(func(*activity.Entry) {})
	lock := with(func(e *activity.Entry) { e.Category, e.Action = activity.CategoryLockAction, "lock.revoke" })
	durableView := with(func(*activity.Entry) {})

	l := activity.NewLedger(db, activity.Options{})
	strict := activity.NewLedger(db, activity.Options{DurableViews: true})
	defer l.Close()
	defer strict.Close()
	rows := 0
	for _, c := range []struct {
		name        string
		ledger      *activity.Ledger
		entries     []activity.Entry
		wantRelaxed uint64
	}{
		{"a view", l, []activity.Entry{view}, 1},
		{"a partial view", l, []activity.Entry{partial}, 2},
		{"a refused view", l, []activity.Entry{refused}, 2},
		{"an auth row", l, []activity.Entry{auth}, 2},
		{"a view with a lock action", l, []activity.Entry{lockView, lock}, 2},
		{"a view, DurableViews", strict, []activity.Entry{durableView}, 0},
	} {
		if err := c.ledger.Record(context.Background(), c.entries...); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := c.ledger.Stats().RelaxedBatches; got != c.wantRelaxed {
			t.Errorf("after %s: RelaxedBatches = %d, want %d", c.name, got, c.wantRelaxed)
		}
		rows += len(c.entries)
		if got := len(readAll(t, db, tenant)); got != rows {
			t.Errorf("after %s: %d rows readable, want %d", c.name, got, rows)
		}
	}
	if s := l.Stats(); s.Batches != 5 {
		t.Errorf("Batches = %d, want 5 (one per Record)", s.Batches)
	}
}
