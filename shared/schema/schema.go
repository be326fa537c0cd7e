// Package schema holds the Postgres schema of the BFF as numbered SQL
// migrations and applies them with tern.
//
// Migrations are a deploy step of their own (infra/cmd/migrate), never run by
// a function at start. They run as bff_owner so that every object is owned by
// it: a caller connected as a superuser or as a Cloud SQL admin is switched to
// bff_owner with SET ROLE after the cluster-level roles have been ensured.
//
// Order of work in Migrate:
//
//  1. EnsureRoles, when the connected user may create roles (superuser, or
//     CREATEROLE as Cloud SQL's `postgres`); otherwise the roles must exist.
//  2. The schema `bff`, owned by bff_owner (tern's version table lives in it,
//     so it cannot be created by a migration).
//  3. SET ROLE bff_owner, then the tern migrations in migrations/.
//
// Adding a migration: a new numbered file; never edit one that has been
// deployed. Qualify every name with bff. (tern resets search_path between
// files). A table with a tenant_id column gets ENABLE and FORCE ROW LEVEL
// SECURITY and policies that match nothing when app.tenant_id is empty or
// unset, as in 0002 (TestEveryTenantTableHasForcedRLS fails otherwise).
// Grants to bff_app and bff_jobs are explicit, table by table, with a
// comment saying which job needs what. Migration text goes through
// text/template: no "{{".
package schema

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

// Names fixed by the migrations; other packages use them for URLs and checks.
const (
	Name      = "bff"
	OwnerRole = "bff_owner"
	AppRole   = "bff_app"
	JobsRole  = "bff_jobs"

	versionTable = Name + ".schema_version"
)

// migrateLock serialises whole Migrate calls (role and schema creation
// included); tern's own lock only covers its part.
const migrateLock = int64(7342081190462118002)

//go:embed migrations/*.sql
var migrationFiles embed.FS

//go:embed roles.sql
var rolesSQL string

// Migrations returns the migration files (0001_roles.sql, …) at the root of
// the returned file system.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// fs.Sub fails only for an invalid path literal.
		return migrationFiles
	}
	return sub
}

// Fingerprint is a hash of everything Migrate executes. Test helpers name
// their template database after it, so a changed migration gets a fresh
// template instead of a stale one.
func Fingerprint() string {
	h := sha256.New()
	h.Write([]byte(rolesSQL))
	names, _ := fs.Glob(Migrations(), "*.sql")
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(Migrations(), n)
		fmt.Fprintf(h, "\x00%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EnsureRoles creates bff_owner, bff_app and bff_jobs when missing, refuses
// pre-existing ones that are superusers or bypass RLS, makes the connected
// user a member of bff_owner, and sets the roles' search_path. It is
// idempotent and needs a user that may create roles (a superuser, or
// CREATEROLE as Cloud SQL's `postgres`). Migrate calls it itself when the
// connected user has that right.
func EnsureRoles(ctx context.Context, conn *pgx.Conn) (err error) {
	defer derrors.Wrap(&err, "schema.EnsureRoles")
	defer describe(&err)
	return ensureRoles(ctx, conn)
}

func ensureRoles(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, rolesSQL); err != nil {
		return fmt.Errorf("ensure roles: %w", err)
	}
	return nil
}

// Migrate applies the pending migrations. It is safe to run concurrently and
// repeatedly (a second run is a no-op). The connection's role is restored
// before it returns; its session settings are reset (tern runs RESET ALL).
func Migrate(ctx context.Context, conn *pgx.Conn) (err error) {
	defer derrors.Wrap(&err, "schema.Migrate")
	defer describe(&err)

	if _, err := conn.Exec(ctx, "SELECT pg_catalog.pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() {
		// WithoutCancel: a session lock left behind by a cancelled caller
		// would block every later migration on this connection's session.
		_, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_catalog.pg_advisory_unlock($1)", migrateLock)
		if err == nil && uerr != nil {
			err = fmt.Errorf("unlock: %w", uerr)
		}
	}()

	var me struct {
		name              string
		super, createRole bool
	}
	if err := conn.QueryRow(ctx,
		`SELECT rolname, rolsuper, rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = current_user`,
	).Scan(&me.name, &me.super, &me.createRole); err != nil {
		return fmt.Errorf("who am I: %w", err)
	}
	admin := me.super || me.createRole
	if admin {
		if err := ensureRoles(ctx, conn); err != nil {
			return err
		}
	}

	if err := ensureSchema(ctx, conn, admin); err != nil {
		return err
	}

	if me.name != OwnerRole {
		if _, err := conn.Exec(ctx, "SET ROLE "+OwnerRole); err != nil {
			return fmt.Errorf("SET ROLE %s (connect as %s, a superuser, or a member of it): %w", OwnerRole, OwnerRole, err)
		}
		defer func() {
			if _, rerr := conn.Exec(context.WithoutCancel(ctx), "RESET ROLE"); err == nil && rerr != nil {
				err = fmt.Errorf("RESET ROLE: %w", rerr)
			}
		}()
	}

	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return fmt.Errorf("version table: %w", err)
	}
	if err := m.LoadMigrations(Migrations()); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// ensureSchema creates the bff schema owned by bff_owner. An admin creates
// it on bff_owner's behalf, because in Cloud SQL bff_owner need not have
// CREATE on the database; bff_owner connected directly creates it itself.
func ensureSchema(ctx context.Context, conn *pgx.Conn, admin bool) error {
	var owner *string
	if err := conn.QueryRow(ctx,
		`SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = $1`, Name,
	).Scan(&owner); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("look up schema %s: %w", Name, err)
	}
	switch {
	case owner != nil && *owner == OwnerRole:
		return nil
	case owner != nil:
		return fmt.Errorf("schema %s is owned by %s, not %s", Name, *owner, OwnerRole)
	case admin:
		_, err := conn.Exec(ctx, "CREATE SCHEMA "+Name+" AUTHORIZATION "+OwnerRole)
		if err != nil {
			return fmt.Errorf("create schema %s: %w", Name, err)
		}
		return nil
	default:
		_, err := conn.Exec(ctx, "CREATE SCHEMA "+Name)
		if err != nil {
			return fmt.Errorf("create schema %s (grant %s CREATE on the database, or run as an admin once): %w", Name, OwnerRole, err)
		}
		return nil
	}
}

// Version returns the number of the last applied migration, 0 when none.
func Version(ctx context.Context, conn *pgx.Conn) (_ int32, err error) {
	defer derrors.Wrap(&err, "schema.Version")
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT pg_catalog.to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int32
	if err := conn.QueryRow(ctx, "SELECT version FROM "+versionTable).Scan(&v); err != nil {
		return 0, err
	}
	return v, nil
}

// Latest returns the number of the newest embedded migration.
func Latest() int32 {
	paths, err := migrate.FindMigrations(Migrations())
	if err != nil {
		return 0
	}
	return int32(len(paths))
}

// describe adds the server's hint to a Postgres error in *errp: pgx's
// Error() shows only the message and code, and the hints in the SQL say what
// to do.
func describe(errp *error) {
	var pe *pgconn.PgError
	if errors.As(*errp, &pe) && pe.Hint != "" {
		*errp = fmt.Errorf("%w (hint: %s)", *errp, pe.Hint)
	}
}
