-- Roles and schema access.
--
-- The roles themselves are cluster objects made by schema.EnsureRoles
-- (roles.sql) before any migration runs; this migration only checks that
-- they are safe and gives them access to the schema. Objects are always
-- schema-qualified: tern resets search_path between migrations.
DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(r, ', ') INTO missing
      FROM unnest(ARRAY['bff_owner', 'bff_app', 'bff_jobs']) AS r
     WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'roles missing: %', missing
            USING HINT = 'run the migration as an admin once (schema.EnsureRoles creates them)';
    END IF;

    IF EXISTS (SELECT FROM pg_catalog.pg_roles
                WHERE rolname IN ('bff_app', 'bff_jobs') AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'bff_app and bff_jobs must be NOSUPERUSER NOBYPASSRLS';
    END IF;

    -- Objects created by anyone else would be owned by them, and an owner
    -- other than bff_owner would not be bound by FORCE ROW LEVEL SECURITY
    -- the way the tests assume.
    IF current_user <> 'bff_owner' THEN
        RAISE EXCEPTION 'migrations must run as bff_owner, not %', current_user;
    END IF;
END
$$;

-- Nothing in bff is reachable by PUBLIC; each role gets USAGE here and table
-- grants in the migration that creates the table.
REVOKE ALL ON SCHEMA bff FROM PUBLIC;
GRANT USAGE ON SCHEMA bff TO bff_app, bff_jobs;
