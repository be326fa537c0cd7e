-- Transactional outbox (SPEC §6, §7): every event that accompanies a ledger
-- write is inserted here in the same transaction (outbox.Add), published
-- right after commit (outbox.Relay.Send deletes what Pub/Sub accepted), and
-- whatever that missed is published by the scheduled outbox-relay job
-- (outbox.Drain). A row is an event not yet known to be published.
--
-- Access, role by role:
--   bff_app   INSERT of its own tenant's events (with the write they
--             accompany), SELECT + DELETE of its own tenant's rows (Send
--             removes what it published; DELETE … WHERE needs SELECT). No
--             UPDATE, TRUNCATE.
--   bff_jobs  SELECT, UPDATE of the retry columns and DELETE of every
--             tenant's rows (outbox-relay: FOR UPDATE SKIP LOCKED needs
--             UPDATE). No INSERT, TRUNCATE.
--   bff_owner owns the table but FORCE ROW LEVEL SECURITY and the absence of
--             any policy for it leave it no rows.
CREATE TABLE bff.outbox (
    id              text        NOT NULL,
    tenant_id       text        NOT NULL,
    subject         text        NOT NULL,
    -- The exact bytes Pub/Sub receives as message data (the JSON envelope),
    -- so a row published twice (by Send and by the relay) is byte-identical
    -- both times. Read it with convert_from(envelope, 'UTF8')::jsonb.
    envelope        bytea       NOT NULL,
    -- clock_timestamp(), not now(): now() is the start of the writer's
    -- transaction, which makes rows of a long transaction look old to the
    -- relay's minimum-age filter the moment they commit.
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    -- Failed relay attempts: the relay backs off exponentially (capped) so a
    -- poison row or a missing topic costs one try per backoff, never a
    -- blocked queue.
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    last_error      text,

    CONSTRAINT outbox_pkey PRIMARY KEY (id),
    CONSTRAINT outbox_id_check         CHECK (starts_with(id, 'evt_') AND octet_length(id) = 30),
    CONSTRAINT outbox_tenant_id_check  CHECK (starts_with(tenant_id, 'ten_') AND octet_length(tenant_id) = 30),
    CONSTRAINT outbox_subject_check    CHECK (char_length(subject) BETWEEN 1 AND 255),
    CONSTRAINT outbox_attempts_check   CHECK (attempts >= 0),
    CONSTRAINT outbox_last_error_check CHECK (char_length(last_error) <= 1024)
);

-- The relay takes the oldest due rows first; the backlog (what on-call
-- looks at) is a count over the same index.
CREATE INDEX outbox_created_at_idx ON bff.outbox (created_at);

ALTER TABLE bff.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.outbox FORCE ROW LEVEL SECURITY;

-- NULLIF: after a transaction-local set_config has committed, the setting
-- reads '' rather than NULL; both must match nothing.
CREATE POLICY app_select ON bff.outbox
    FOR SELECT TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_insert ON bff.outbox
    FOR INSERT TO bff_app
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_delete ON bff.outbox
    FOR DELETE TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));

-- outbox-relay works across tenants.
CREATE POLICY jobs_relay_select ON bff.outbox
    FOR SELECT TO bff_jobs
    USING (true);
CREATE POLICY jobs_relay_update ON bff.outbox
    FOR UPDATE TO bff_jobs
    USING (true)
    WITH CHECK (true);
CREATE POLICY jobs_relay_delete ON bff.outbox
    FOR DELETE TO bff_jobs
    USING (true);

REVOKE ALL ON TABLE bff.outbox FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON TABLE bff.outbox TO bff_app;
-- Column-level UPDATE: the relay records attempts; it can never rewrite an
-- event or move it to another tenant.
GRANT SELECT, DELETE ON TABLE bff.outbox TO bff_jobs;
GRANT UPDATE (attempts, next_attempt_at, last_error) ON TABLE bff.outbox TO bff_jobs;
