package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/melmastoon/bff-backoffice/shared/pg"
	"github.com/melmastoon/bff-backoffice/shared/schema"
)

// PGInfo locates a test's own database, with a URL per role.
type PGInfo struct {
	Database string
	AdminURL string // superuser: catalog checks and baselines, never app code
	OwnerURL string // bff_owner
	AppURL   string // bff_app, what functions use (DATABASE_URL)
	JobsURL  string // bff_jobs, what scheduled jobs use (JOBS_DATABASE_URL)
}

// templateLock serialises template builds across test binaries: `go test
// ./...` runs packages in parallel and each would otherwise build the same
// template at once. Same key in every binary, whatever the fingerprint,
// because they also share the cluster-wide roles.
const templateLock = int64(7342081190462118003)

var pgShared struct {
	once     sync.Once
	err      error
	admin    *pgxpool.Pool
	adminURL *url.URL
	template string
}

// Postgres gives the test its own database, cloned from a template migrated
// once per schema version, and returns a pool connected to it as bff_app
// (row-level security applies) plus the URLs of the other roles. The
// database is dropped when the test ends.
//
// It needs BFF_TEST_PG_ADMIN_URL, a superuser URL of a cluster that trusts
// the roles on loopback (no passwords are set for them).
func Postgres(t testing.TB) (*pg.DB, PGInfo) {
	t.Helper()
	adminURL := Env(t, "BFF_TEST_PG_ADMIN_URL")

	pgShared.once.Do(func() { pgShared.err = setupTemplate(adminURL) })
	if pgShared.err != nil {
		t.Fatalf("testenv.Postgres: %v", pgShared.err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := "test_" + randomHex(8)
	_, err := pgShared.admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s OWNER %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{pgShared.template}.Sanitize(), schema.OwnerRole))
	if err != nil {
		t.Fatalf("testenv.Postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a pool a test forgot to close must not keep its
		// database alive.
		if _, err := pgShared.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv.Postgres: drop database %s: %v", name, err)
		}
	})

	info := PGInfo{
		Database: name,
		AdminURL: roleURL(pgShared.adminURL, "", name),
		OwnerURL: roleURL(pgShared.adminURL, schema.OwnerRole, name),
		AppURL:   roleURL(pgShared.adminURL, schema.AppRole, name),
		JobsURL:  roleURL(pgShared.adminURL, schema.JobsRole, name),
	}
	return OpenPG(t, info.AppURL, 8), info
}

// JobsDB returns a pool connected to the test's database as bff_jobs.
func JobsDB(t testing.TB, info PGInfo) *pg.DB {
	t.Helper()
	return OpenPG(t, info.JobsURL, 4)
}

// OpenPG opens a pg.DB on url with maxConns connections, closed when the
// test ends (before its database is dropped).
func OpenPG(t testing.TB, url string, maxConns int32) *pg.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pg.Open(ctx, pg.Config{URL: url, MaxConns: maxConns})
	if err != nil {
		t.Fatalf("testenv.OpenPG: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// setupTemplate makes sure the template for this schema fingerprint exists.
// It is built under a different name and renamed when complete, so a test
// binary killed halfway leaves no half-migrated template behind.
func setupTemplate(adminURL string) error {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("BFF_TEST_PG_ADMIN_URL must be a postgres:// URL")
	}
	pgShared.adminURL = u
	pgShared.template = templateName()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	pc, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		return fmt.Errorf("admin URL: %w", err)
	}
	pc.MaxConns = 4
	admin, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("connect admin: %w", err)
	}
	// The pool lives as long as the test binary: every test's CREATE and
	// DROP DATABASE go through it.
	pgShared.admin = admin

	conn, err := admin.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect admin: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return fmt.Errorf("template lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock)
	}()

	var exists bool
	if err := conn.QueryRow(ctx,
		"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1 AND datistemplate)", pgShared.template,
	).Scan(&exists); err != nil {
		return fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return nil
	}

	build := pgx.Identifier{pgShared.template + "_build"}.Sanitize()
	final := pgx.Identifier{pgShared.template}.Sanitize()
	// Roles are cluster-wide and CREATE DATABASE … OWNER needs bff_owner.
	if err := schema.EnsureRoles(ctx, conn.Conn()); err != nil {
		return err
	}
	for _, stmt := range []string{
		"DROP DATABASE IF EXISTS " + build + " WITH (FORCE)",
		"DROP DATABASE IF EXISTS " + final + " WITH (FORCE)",
		// UTF8 whatever the cluster's default: the ledger's length checks
		// count characters, and Go validates UTF-8.
		"CREATE DATABASE " + build + " OWNER " + schema.OwnerRole +
			" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}

	tc, err := pgx.Connect(ctx, roleURL(u, "", pgShared.template+"_build"))
	if err != nil {
		return fmt.Errorf("connect template: %w", err)
	}
	merr := schema.Migrate(ctx, tc)
	cerr := tc.Close(ctx)
	if merr != nil {
		return merr
	}
	if cerr != nil {
		return fmt.Errorf("close template connection: %w", cerr)
	}

	for _, stmt := range []string{
		"ALTER DATABASE " + build + " RENAME TO " + final,
		// No connections: CREATE DATABASE … TEMPLATE fails while anyone
		// is connected to the template.
		"ALTER DATABASE " + final + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// roleURL is base with its user replaced by role (kept when role is empty)
// and its database by db. Roles get no password: the test cluster trusts
// them.
func roleURL(base *url.URL, role, db string) string {
	u := *base
	if role != "" {
		u.User = url.User(role)
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String()
}

// templateRecipe changes when setupTemplate builds templates differently, so
// that a cluster shared across versions of this file gets a new one.
const templateRecipe = "utf8-c/1"

func templateName() string {
	h := sha256.Sum256([]byte(schema.Fingerprint() + "\x00" + templateRecipe))
	return "bfftmpl_" + hex.EncodeToString(h[:8])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Proxy is a TCP proxy in front of a Postgres server, for tests of what
// happens when the database goes away.
type Proxy struct {
	URL string // the database URL, through the proxy

	tcp *tcpProxy
}

// PGProxy starts a proxy to the server of rawURL; it stops with the test.
func PGProxy(t testing.TB, rawURL string) *Proxy {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("testenv.PGProxy: %v", err)
	}
	tcp, err := startTCPProxy(u.Host)
	if err != nil {
		t.Fatalf("testenv.PGProxy: %v", err)
	}
	pu := *u
	pu.Host = tcp.ln.Addr().String()
	p := &Proxy{URL: pu.String(), tcp: tcp}
	t.Cleanup(p.Cut)
	return p
}

// Reset breaks every open connection and keeps accepting new ones: a pooled
// connection dies under its user, as after a failover.
func (p *Proxy) Reset() { p.tcp.sever() }

// Cut breaks every open connection and refuses new ones: the database is
// gone.
func (p *Proxy) Cut() {
	p.tcp.set(refusing)
	_ = p.tcp.ln.Close()
	p.tcp.sever()
}
