package schema_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/schema"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// catalog describes what the migrations made, owners and privileges
// included, so that a second run can be shown to change nothing.
func catalog(t *testing.T, c *pgx.Conn) []string {
	t.Helper()
	return column(t, c, `
SELECT format('%s %s owner=%s acl=%s rls=%s/%s', c.relkind, c.relname,
              pg_get_userbyid(c.relowner), c.relacl, c.relrowsecurity, c.relforcerowsecurity)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'bff'
UNION ALL
SELECT format('policy %s on %s: %s to %s using %s check %s', p.polname, p.polrelid::regclass, p.polcmd,
              p.polroles::regrole[], pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
  FROM pg_policy p
UNION ALL
SELECT format('trigger %s on %s', tgname, tgrelid::regclass) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT format('function %s owner=%s', p.oid::regprocedure, pg_get_userbyid(p.proowner))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'bff'
UNION ALL
SELECT format('schema %s owner=%s acl=%s', nspname, pg_get_userbyid(nspowner), nspacl)
  FROM pg_namespace WHERE nspname = 'bff'
UNION ALL
SELECT format('version %s', version) FROM bff.schema_version
ORDER BY 1`)
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	ctx := context.Background()

	admin := connect(t, info.AdminURL)
	before := catalog(t, admin)
	if len(before) == 0 {
		t.Fatal("template has no schema objects")
	}

	cases := []struct {
		name string
		url  string
	}{
		{"as superuser", info.AdminURL},
		{"as bff_owner", info.OwnerURL},
		{"superuser again", info.AdminURL},
	}
	for _, tc := range cases {
		c := connect(t, tc.url)
		if err := schema.Migrate(ctx, c); err != nil {
			t.Fatalf("%s: Migrate: %v", tc.name, err)
		}
		v, err := schema.Version(ctx, c)
		if err != nil {
			t.Fatalf("%s: Version: %v", tc.name, err)
		}
		if v != schema.Latest() {
			t.Errorf("%s: version %d, want %d", tc.name, v, schema.Latest())
		}
		// The caller's connection comes back as it was.
		var user, sp string
		if err := c.QueryRow(ctx, "SELECT current_user, current_setting('search_path')").Scan(&user, &sp); err != nil {
			t.Fatal(err)
		}
		if want := strings.SplitN(strings.TrimPrefix(tc.url, "postgres://"), "@", 2)[0]; user != want {
			t.Errorf("%s: current_user after Migrate = %q, want %q", tc.name, user, want)
		}
		if diff := cmp.Diff(before, catalog(t, admin)); diff != "" {
			t.Errorf("%s: second Migrate changed the catalog (-before +after):\n%s", tc.name, diff)
		}
	}
}

// TestMigrateFreshDatabase runs the migrations on an empty database (not the
// template) twice, as the superuser, concurrently with itself.
func TestMigrateFreshDatabase(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	ctx := context.Background()
	admin := connect(t, info.AdminURL)

	name := info.Database + "_fresh"
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	freshURL := strings.Replace(info.AdminURL, "/"+info.Database, "/"+name, 1)

	errs := make(chan error, 2)
	for range 2 {
		c := connect(t, freshURL)
		go func() { errs <- schema.Migrate(ctx, c) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	c := connect(t, freshURL)
	first := catalog(t, c)
	if err := schema.Migrate(ctx, c); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if diff := cmp.Diff(first, catalog(t, c)); diff != "" {
		t.Errorf("second Migrate changed the catalog (-first +second):\n%s", diff)
	}
	// Owned by bff_owner, whoever connected.
	for _, line := range first {
		if strings.Contains(line, "owner=") && !strings.Contains(line, "owner=bff_owner") {
			t.Errorf("not owned by bff_owner: %s", line)
		}
	}
}

func TestMigrateRefusesAppRole(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	// bff_app may not SET ROLE bff_owner: Migrate must say so, not create
	// objects owned by the app role.
	c := connect(t, info.AppURL)
	err := schema.Migrate(context.Background(), c)
	if err == nil {
		t.Fatal("Migrate as bff_app succeeded")
	}
	if !strings.Contains(err.Error(), "bff_owner") {
		t.Errorf("error does not name bff_owner: %v", err)
	}
}

func TestFingerprintIsStable(t *testing.T) {
	t.Parallel()
	a, b := schema.Fingerprint(), schema.Fingerprint()
	if a != b || len(a) != 64 {
		t.Errorf("Fingerprint = %q, %q", a, b)
	}
	if schema.Latest() < 2 {
		t.Errorf("Latest = %d, want ≥ 2", schema.Latest())
	}
}
