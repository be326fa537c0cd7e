-- OperatorActivity ledger (domain model §7, SPEC §7): one row per meaningful
-- operator action, append-only, 90 days hot, exported to BigQuery.
--
-- Access, role by role:
--   bff_app   INSERT + SELECT of its own tenant's rows (app.tenant_id, set per
--             transaction by pg.DB.InTenantTx). No UPDATE, DELETE, TRUNCATE.
--   bff_jobs  SELECT of every tenant's rows (export-activity) and DELETE of
--             rows older than 90 days (retention). No INSERT, UPDATE, TRUNCATE.
--   bff_owner owns the table but FORCE ROW LEVEL SECURITY and the absence of
--             any policy for it leave it no rows.
-- A trigger makes the table append-only even for roles that would otherwise
-- be allowed (the owner, a superuser): only bff_jobs may delete.
--
-- The CHECK constraints accept a superset of what activity's Go validation
-- accepts: the ledger batches many callers' rows into one statement, and a
-- row that Go accepts but the database rejects would fail its batch-mates.
CREATE TABLE bff.operator_activity (
    id            text        NOT NULL,
    tenant_id     text        NOT NULL,
    property_id   text,
    operator_id   text        NOT NULL,
    device_id     text        NOT NULL,
    session_id    text,
    occurred_at   timestamptz NOT NULL,
    category      text        NOT NULL,
    action        text        NOT NULL,
    resource_kind text,
    resource_id   text,
    outcome       text        NOT NULL,
    latency_ms    integer     NOT NULL,
    error_code    text,
    error_message text,
    context_hash  text,
    request_id    text        NOT NULL,
    -- The exporter pages by commit-safe snapshot (pg_snapshot_xmin of
    -- pg_current_snapshot()), so a row whose transaction commits late is not
    -- skipped the way an occurred_at or id watermark would skip it.
    recorded_xid  xid8        NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),

    CONSTRAINT operator_activity_pkey PRIMARY KEY (id),
    -- Prefix and length only: Go checks the ULID alphabet (ids.Check). Six
    -- regular expressions nearly doubled the cost of a 100k-row COPY on the
    -- dev VM (+15 µs a row; these checks: +3 µs).
    CONSTRAINT operator_activity_id_check          CHECK (starts_with(id, 'act_') AND octet_length(id) = 30),
    CONSTRAINT operator_activity_tenant_id_check   CHECK (starts_with(tenant_id, 'ten_') AND octet_length(tenant_id) = 30),
    CONSTRAINT operator_activity_property_id_check CHECK (starts_with(property_id, 'prp_') AND octet_length(property_id) = 30),
    CONSTRAINT operator_activity_operator_id_check CHECK (starts_with(operator_id, 'op_') AND octet_length(operator_id) = 29),
    CONSTRAINT operator_activity_device_id_check   CHECK (starts_with(device_id, 'dev_') AND octet_length(device_id) = 30),
    CONSTRAINT operator_activity_session_id_check  CHECK (starts_with(session_id, 'bos_') AND octet_length(session_id) = 30),
    CONSTRAINT operator_activity_category_check    CHECK (category IN (
        'view', 'mutation_proxy', 'lock_action', 'ai_decision', 'alert_ack',
        'sync_handshake', 'preferences_changed', 'auth', 'other')),
    CONSTRAINT operator_activity_action_check      CHECK (char_length(action) BETWEEN 1 AND 128),
    CONSTRAINT operator_activity_resource_check    CHECK ((resource_kind IS NULL) = (resource_id IS NULL)),
    CONSTRAINT operator_activity_resource_kind_check CHECK (char_length(resource_kind) BETWEEN 1 AND 64),
    CONSTRAINT operator_activity_resource_id_check CHECK (char_length(resource_id) BETWEEN 1 AND 256),
    CONSTRAINT operator_activity_outcome_check     CHECK (outcome IN ('success', 'failure', 'partial')),
    CONSTRAINT operator_activity_latency_ms_check  CHECK (latency_ms >= 0),
    CONSTRAINT operator_activity_error_check       CHECK (error_message IS NULL OR error_code IS NOT NULL),
    CONSTRAINT operator_activity_error_code_check  CHECK (char_length(error_code) BETWEEN 1 AND 128),
    CONSTRAINT operator_activity_error_message_check CHECK (char_length(error_message) <= 1024),
    CONSTRAINT operator_activity_context_hash_check CHECK (context_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT operator_activity_request_id_check  CHECK (char_length(request_id) BETWEEN 1 AND 128)
);

-- GET /v1/activity: a tenant's (property's) feed, newest first, keyset by
-- (occurred_at, id); and one operator's feed.
CREATE INDEX operator_activity_tenant_time_idx
    ON bff.operator_activity (tenant_id, occurred_at DESC, id DESC);
CREATE INDEX operator_activity_tenant_operator_time_idx
    ON bff.operator_activity (tenant_id, operator_id, occurred_at DESC, id DESC);

ALTER TABLE bff.operator_activity ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.operator_activity FORCE ROW LEVEL SECURITY;

-- NULLIF: after a transaction-local set_config has committed, the setting
-- reads '' rather than NULL; both must match nothing.
CREATE POLICY app_select ON bff.operator_activity
    FOR SELECT TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_insert ON bff.operator_activity
    FOR INSERT TO bff_app
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));

-- export-activity reads every tenant; retention deletes only what is past
-- the 90-day hot window (it must also check the export watermark, which the
-- exporter's migration can tighten this policy with).
CREATE POLICY jobs_export_select ON bff.operator_activity
    FOR SELECT TO bff_jobs
    USING (true);
CREATE POLICY jobs_retention_delete ON bff.operator_activity
    FOR DELETE TO bff_jobs
    USING (occurred_at < pg_catalog.now() - interval '90 days');

REVOKE ALL ON TABLE bff.operator_activity FROM PUBLIC;
GRANT SELECT, INSERT ON TABLE bff.operator_activity TO bff_app;
GRANT SELECT, DELETE ON TABLE bff.operator_activity TO bff_jobs;

-- Append-only at the database: grants already keep bff_app out; this also
-- stops the owner and superusers (who bypass grants or policies). A deliberate
-- correction must disable the trigger in a reviewed migration. Statement
-- level, so retention deleting a million rows pays for one call, not a
-- million.
CREATE FUNCTION bff.operator_activity_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = 'bff_jobs' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'bff.operator_activity is append-only: % by % refused', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION bff.operator_activity_append_only() FROM PUBLIC;

CREATE TRIGGER operator_activity_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON bff.operator_activity
    FOR EACH STATEMENT EXECUTE FUNCTION bff.operator_activity_append_only();
