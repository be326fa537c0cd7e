// Package pg is the one way into Postgres: a pgx pool plus the transaction
// helpers that set the tenant for row-level security.
//
// All tenant-scoped SQL runs inside DB.InTenantTx (or, for batched writes of
// several tenants, DB.SendTenantBatch), which sets app.tenant_id
// transaction-locally; the RLS policies of every tenant table match nothing
// when it is unset, so SQL outside them sees and writes nothing.
// Cross-tenant scheduled jobs use DB.InJobsTx on a pool connected as the jobs
// role, whose grants and policies are listed in the migrations.
package pg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/derrors"
	"github.com/melmastoon/bff-backoffice/shared/ids"
)

// Config is the Postgres part of a function's configuration. A jobs
// function loads a second one with the env prefix JOBS_ (JOBS_DATABASE_URL).
type Config struct {
	URL      string `env:"DATABASE_URL, required"`
	MaxConns int32  `env:"DATABASE_MAX_CONNS, default=8"`
	// StatementTimeout bounds every statement the pool runs, so a query
	// stuck behind a lock or a bad plan frees its connection (and the
	// request its budget) instead of holding both; a jobs pool may set a
	// longer one (JOBS_DATABASE_STATEMENT_TIMEOUT).
	StatementTimeout time.Duration `env:"DATABASE_STATEMENT_TIMEOUT, default=5s"`
}

// DefaultStatementTimeout is Config.StatementTimeout's zero value.
const DefaultStatementTimeout = 5 * time.Second

// Validate checks the config without connecting.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required"))
	} else if _, err := pgxpool.ParseConfig(c.URL); err != nil {
		// The parse error can quote the URL, password included: keep it out.
		errs = append(errs, errors.New("DATABASE_URL is not a valid Postgres URL"))
	}
	if c.MaxConns < 1 || c.MaxConns > 1000 {
		errs = append(errs, errors.New("DATABASE_MAX_CONNS must be 1..1000"))
	}
	if c.StatementTimeout != 0 && (c.StatementTimeout < 10*time.Millisecond || c.StatementTimeout > time.Hour) {
		errs = append(errs, errors.New("DATABASE_STATEMENT_TIMEOUT must be 10ms..1h"))
	}
	return errors.Join(errs...)
}

// DB is a connection pool of one role (bff_app or bff_jobs).
type DB struct {
	pool *pgxpool.Pool
	role string
}

// txAttempts bounds retries of serialization failures and deadlocks; the
// conflicting transaction has usually finished by the second attempt.
const txAttempts = 4

// Open connects and checks the role: a pool whose role is a superuser or has
// BYPASSRLS is refused, because every isolation guarantee of this package
// rests on row-level security applying to it.
func Open(ctx context.Context, cfg Config) (_ *DB, err error) {
	defer derrors.Wrap(&err, "pg.Open")
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, errors.New("DATABASE_URL is not a valid Postgres URL")
	}
	pc.MaxConns = cfg.MaxConns
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	rp := pc.ConnConfig.RuntimeParams
	if _, ok := rp["search_path"]; !ok {
		// Queries name tables unqualified; do not depend on the role's
		// settings, which a Cloud SQL user made by Terraform may lack.
		rp["search_path"] = "bff"
	}
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "bff-backoffice"
	}
	// Per connection, not per transaction: one setting for every statement,
	// without a round trip per transaction. Idle transactions get the same
	// bound, so a crashed handler cannot pin a connection and its locks.
	st := cfg.StatementTimeout
	if st == 0 {
		st = DefaultStatementTimeout
	}
	ms := strconv.FormatInt(st.Milliseconds(), 10)
	rp["statement_timeout"] = ms
	rp["idle_in_transaction_session_timeout"] = ms

	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var (
		role            string
		super, bypasses bool
	)
	err = pool.QueryRow(pctx,
		`SELECT rolname, rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user`,
	).Scan(&role, &super, &bypasses)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if super || bypasses {
		pool.Close()
		return nil, fmt.Errorf("role %q bypasses row-level security; connect as bff_app (DATABASE_URL) or bff_jobs (JOBS_DATABASE_URL)", role)
	}
	return &DB{pool: pool, role: role}, nil
}

// Pool returns the underlying pool, for tests and for statements that touch
// no tenant table. Tenant SQL goes through InTenantTx.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Role is the Postgres role the pool is connected as.
func (db *DB) Role() string { return db.role }

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() { db.pool.Close() }

// TxFunc is the body of a transaction. It may run more than once (after a
// serialization failure or deadlock), so it must not have effects outside the
// transaction that a second run would repeat.
type TxFunc func(ctx context.Context, tx pgx.Tx) error

// InTenantTx runs fn in a transaction whose app.tenant_id is tenantID, and
// commits it. It rolls back when fn returns an error, retries serialization
// failures and deadlocks a bounded number of times, and reports a database it
// cannot reach as apperr UPSTREAM_UNAVAILABLE. Errors fn returns are passed
// through wrapped, so an *apperr.Error from fn keeps its code.
func (db *DB) InTenantTx(ctx context.Context, tenantID string, fn TxFunc) (err error) {
	defer derrors.Wrap(&err, "pg.InTenantTx(%s)", tenantID)
	if err := ids.Check(ids.Tenant, tenantID); err != nil {
		// A malformed tenant would only match nothing, but it means a
		// caller skipped validation: fail loudly instead.
		return fmt.Errorf("tenant id: %w", err)
	}
	return db.retry(ctx, func() error { return db.once(ctx, tenantID, fn) })
}

// InJobsTx runs fn in a transaction with no tenant set, for the cross-tenant
// scheduled jobs. It is only useful on a pool connected as the jobs role:
// the app role's policies match nothing without a tenant.
func (db *DB) InJobsTx(ctx context.Context, fn TxFunc) (err error) {
	defer derrors.Wrap(&err, "pg.InJobsTx")
	return db.retry(ctx, func() error { return db.once(ctx, "", fn) })
}

// TenantBatch is a list of write statements of one or more tenants, sent by
// DB.SendTenantBatch in one round trip. It is for writers that gather many
// tenants' rows (the activity ledger's group commit); measured against one
// transaction with a set_config round trip per tenant, it writes ~1.5× the
// rows per second at 10–100 rows a batch.
type TenantBatch struct {
	stmts []queued
	last  string
	err   error
	// relaxed: commit without waiting for the WAL flush (Relax).
	relaxed bool
}

// Relax makes the batch's commit return once the server has it, without
// waiting for its WAL to reach the disk (synchronous_commit = off for this
// transaction only). A crash of the database server can then lose the
// transaction if it came within the WAL writer's flush interval (at most
// 3 × wal_writer_delay); a crash of the caller cannot, and the database
// stays consistent either way. Only for writes whose loss in that window
// is acceptable.
func (tb *TenantBatch) Relax() { tb.relaxed = true }

// relaxSQL is transaction-local like setTenantSQL: the pooled connection's
// next transaction commits durably again.
const relaxSQL = "SELECT pg_catalog.set_config('synchronous_commit', 'off', true)"

type queued struct {
	sql  string
	args []any
}

// Queue adds a statement to run with app.tenant_id = tenantID. Queue one
// tenant's statements together: the tenant is set again each time it
// changes. Results are not returned; only errors are. No transaction control
// (BEGIN, COMMIT, SAVEPOINT): the batch is one implicit transaction.
func (tb *TenantBatch) Queue(tenantID, sql string, args ...any) {
	if tb.err != nil {
		return
	}
	if len(tb.stmts) == 0 || tenantID != tb.last {
		if err := ids.Check(ids.Tenant, tenantID); err != nil {
			tb.err = fmt.Errorf("tenant id %q: %w", tenantID, err)
			return
		}
		tb.stmts = append(tb.stmts, queued{setTenantSQL, []any{tenantID}})
		tb.last = tenantID
	}
	tb.stmts = append(tb.stmts, queued{sql, args})
}

// Len is the number of statements queued, set_config calls included.
func (tb *TenantBatch) Len() int { return len(tb.stmts) }

// SendTenantBatch runs tb's statements as one transaction, all committed or
// none. The statements go out in one pipeline without BEGIN, which Postgres
// runs as a single implicit transaction ending at the pipeline's Sync, so
// the transaction-local tenant settings end with it. Retries and error
// mapping are those of InTenantTx; after a lost connection the outcome is
// unknown, so a caller that retries must write idempotently.
func (db *DB) SendTenantBatch(ctx context.Context, tb *TenantBatch) (err error) {
	defer derrors.Wrap(&err, "pg.SendTenantBatch(%d statements)", len(tb.stmts))
	if tb.err != nil {
		return tb.err
	}
	if len(tb.stmts) == 0 {
		return nil
	}
	return db.retry(ctx, func() error {
		// A fresh pgx.Batch per attempt: pgx records in a sent batch the
		// prepared statements of the connection it went out on, which a
		// retry on another connection must not reuse.
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(tb.stmts)+1)}
		if tb.relaxed {
			b.Queue(relaxSQL)
		}
		for _, q := range tb.stmts {
			b.Queue(q.sql, q.args...)
		}
		if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("send batch: %w", err)
		}
		return nil
	})
}

// setTenantSQL uses set_config(…, true) because SET LOCAL takes no bind
// parameter, and a session-level setting would survive the commit and leak
// to the next borrower of the pooled connection.
const setTenantSQL = "SELECT pg_catalog.set_config('app.tenant_id', $1, true)"

func (db *DB) retry(ctx context.Context, attempt func() error) error {
	var err error
	for n := 1; ; n++ {
		err = attempt()
		if err == nil || n == txAttempts || !retryable(err) {
			break
		}
		// Jitter so that the transactions that collided do not collide
		// again in lockstep.
		d := time.Duration(n*n)*5*time.Millisecond + rand.N(5*time.Millisecond)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return classify(fmt.Errorf("%w (while retrying: %w)", ctx.Err(), err))
		case <-t.C:
		}
	}
	return classify(err)
}

// once runs one attempt of a transaction. With a tenant, BEGIN and the
// set_config go out together in one batch: a round trip less per
// transaction than Begin followed by Exec.
func (db *DB) once(ctx context.Context, tenantID string, fn TxFunc) (err error) {
	var tx pgx.Tx
	if tenantID == "" {
		tx, err = db.pool.Begin(ctx)
		if err != nil {
			return beginError{fmt.Errorf("begin: %w", err)}
		}
	} else {
		b := &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		b.Queue(setTenantSQL, tenantID)
		br := db.pool.SendBatch(ctx, b)
		tx = br.Tx()
		if err := br.Close(); err != nil {
			// Returns the connection to the pool (or discards it).
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return beginError{fmt.Errorf("begin and set tenant: %w", err)}
		}
	}
	defer func() {
		if err != nil {
			// Rollback's own error adds nothing: the pool discards a
			// connection that failed.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// beginError marks a failure before fn ran: nothing of the caller's can
// have been executed, so a lost connection there (a pooled connection that
// died while idle, as after a failover) is safe to retry on another.
type beginError struct{ err error }

func (e beginError) Error() string { return e.err.Error() }
func (e beginError) Unwrap() error { return e.err }

// retryable: serialization failures and deadlocks, where the server rolled
// back and a rerun may succeed; and lost connections where nothing can have
// committed (before fn ran, or before anything was sent).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var be beginError
	if errors.As(err, &be) && IsUnavailable(err) {
		return true
	}
	return pgconn.SafeToRetry(err)
}

// classify marks failures to reach the database as UPSTREAM_UNAVAILABLE so
// clients get a retryable 503 rather than a 500. Errors that already carry
// an apperr code (returned by fn) and SQL errors are left alone; the latter
// surface as INTERNAL, whose client message never includes the SQL.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	if IsUnavailable(err) {
		return apperr.Unavailable(err, "database")
	}
	return err
}

// IsUnavailable reports whether err means the database could not be reached
// or went away (as opposed to rejecting a statement).
func IsUnavailable(err error) bool {
	// First: a failed connect wraps the server's refusal (a PgError such as
	// 3D000 for a dropped database), which is still "cannot reach".
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now
			pe.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var ne net.Error
	switch {
	case pgconn.Timeout(err),
		errors.As(err, &ne),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		pgconn.SafeToRetry(err):
		return true
	}
	return false
}
