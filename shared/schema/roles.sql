-- Cluster-level roles of the back-office BFF. Roles belong to the cluster, not
-- to a database, so a tern migration (which runs as bff_owner inside one
-- database and may not create roles) cannot own them: schema.EnsureRoles runs
-- this file as an admin (a superuser locally; Cloud SQL's `postgres` user,
-- which has CREATEROLE) before the migrations. Every step is guarded because
-- the roles may pre-exist (Cloud SQL users made by Terraform, a second
-- database in the same cluster, a concurrent test binary).
--
--   bff_owner  owns the schema and every object in it; migrations run as it.
--   bff_app    the functions' role: LOGIN, owns nothing, cannot bypass RLS,
--              gets table grants one by one in the migrations.
--   bff_jobs   the scheduled cross-tenant jobs' role (export, retention,
--              sweeper, outbox relay): LOGIN, cannot bypass RLS; each job's
--              access is an explicit grant + policy in the migration that
--              creates the table it touches.
--
-- Passwords are not set here: locally the test cluster trusts loopback, in
-- Cloud SQL they are set out of band (Secret Manager) or IAM auth is used.
DO $$
DECLARE
    r text;
BEGIN
    -- Two first-time migrations racing on an empty cluster would both see a
    -- role missing; the loser would fail on pg_authid's unique index.
    PERFORM pg_catalog.pg_advisory_xact_lock(7342081190462118001);

    FOREACH r IN ARRAY ARRAY['bff_owner', 'bff_app', 'bff_jobs'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
        END IF;
    END LOOP;

    -- Users made through Cloud SQL's API get CREATEROLE and membership in
    -- cloudsqlsuperuser; with CREATEROLE on PostgreSQL 15, bff_app could
    -- grant itself bff_owner and switch row-level security off. A CREATEROLE
    -- admin may take both away, so repair what can be repaired…
    FOREACH r IN ARRAY ARRAY['bff_app', 'bff_jobs'] LOOP
        IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r AND (rolcreaterole OR rolcreatedb)) THEN
            EXECUTE format('ALTER ROLE %I NOCREATEROLE NOCREATEDB', r);
        END IF;
        IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'cloudsqlsuperuser')
           AND pg_catalog.pg_has_role(r, 'cloudsqlsuperuser', 'MEMBER') THEN
            EXECUTE format('REVOKE cloudsqlsuperuser FROM %I', r);
        END IF;
    END LOOP;

    -- …and refuse what cannot: these attributes or memberships would
    -- silently defeat row-level security, and changing them needs a
    -- superuser.
    SELECT string_agg(rolname, ', ') INTO r
      FROM pg_catalog.pg_roles
     WHERE rolname IN ('bff_owner', 'bff_app', 'bff_jobs')
       AND (rolsuper OR rolbypassrls);
    IF r IS NOT NULL THEN
        RAISE EXCEPTION 'roles % are superusers or have BYPASSRLS', r
            USING HINT = 'recreate them NOSUPERUSER NOBYPASSRLS';
    END IF;
    SELECT string_agg(rolname, ', ') INTO r
      FROM pg_catalog.pg_roles
     WHERE rolname IN ('bff_app', 'bff_jobs')
       AND (rolcreaterole OR rolcreatedb
            OR pg_catalog.pg_has_role(rolname, 'bff_owner', 'MEMBER'));
    IF r IS NOT NULL THEN
        RAISE EXCEPTION 'roles % may create roles or act as bff_owner', r
            USING HINT = 'ALTER ROLE … NOCREATEROLE NOCREATEDB and REVOKE bff_owner FROM them';
    END IF;

    -- Migrate switches to bff_owner with SET ROLE, which needs membership;
    -- a superuser has it implicitly, a CREATEROLE admin (Cloud SQL) does not.
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT pg_catalog.pg_has_role(current_user, 'bff_owner', 'MEMBER') THEN
        EXECUTE format('GRANT bff_owner TO %I', current_user);
    END IF;
END
$$;

-- Role-level, not per-database, settings: test databases are cloned from a
-- template and per-database role settings are not copied with it. pg.Open
-- sets search_path on its pools as well; this is for psql and ad-hoc tools.
ALTER ROLE bff_owner SET search_path = bff;
ALTER ROLE bff_app SET search_path = bff;
ALTER ROLE bff_jobs SET search_path = bff;
