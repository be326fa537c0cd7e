-- DeviceSyncStatus (domain model §8) with its OfflineActionQueueHint (§10):
-- one row per (tenant, device), the durable record of the device's latest
-- heartbeat. Redis holds a hot copy for fast single-device reads; this row
-- decides ordering, offline detection and deletion.
--
-- Ordering is in the statement, not in Go: a heartbeat is one
-- INSERT … ON CONFLICT DO UPDATE … WHERE device_sync.sent_at <= EXCLUDED.sent_at
-- AND deleted_at IS NULL, so under any interleaving a heartbeat older than
-- the stored one, or any heartbeat after the tombstone, changes nothing.
--
-- Access, role by role:
--   bff_app   SELECT, INSERT and UPDATE of the heartbeat columns and of the
--             tombstone, own tenant only (heartbeats, lists, hints, the
--             device-deleted consumer). No DELETE, TRUNCATE: a deleted
--             device keeps its tombstone row.
--   bff_jobs  SELECT of every tenant's rows and UPDATE of lost_at alone,
--             only from NULL to a time on a live device (heartbeat-sweeper),
--             and INSERT into bff.outbox of device.heartbeat.lost.v1 events
--             alone, of the tenant its transaction names: the sweeper marks
--             a device lost and queues its one event in one transaction.
--   bff_owner owns the table; FORCE ROW LEVEL SECURITY and no policy for it
--             leave it no rows.
-- A trigger keeps the tombstone permanent, even for the owner.

CREATE TABLE bff.device_sync (
    id                  text        NOT NULL, -- dsy_, stable for the device's life
    tenant_id           text        NOT NULL,
    device_id           text        NOT NULL,
    property_id         text,
    operator_id         text, -- the last operator on the device
    -- Every operator seen on the device (most recent last, at most 32):
    -- device-deleted revokes each one's sessions there, since a shared
    -- front-desk terminal has many.
    operator_ids        text[]      NOT NULL DEFAULT '{}',
    session_id          text, -- the session of the last heartbeat
    -- The ordering key: the heartbeat's own sentAt, or the time it arrived
    -- when it carried none.
    sent_at             timestamptz,
    -- When the stored heartbeat arrived: what status is derived from.
    last_heartbeat_at   timestamptz,
    app_version         text,
    app_platform        text,
    installer_channel   text,
    network_profile     text,
    -- The OfflineActionQueueHint: the pending summary of the last heartbeat
    -- that carried one.
    hint_id             text,
    pending             jsonb,
    pending_reported_at timestamptz,
    -- Set by heartbeat-sweeper when the device went silent (the one
    -- device.heartbeat.lost.v1 of that silence); cleared by the next heartbeat.
    lost_at             timestamptz,
    -- The tombstone of melmastoon.iam.device.deleted.v1.
    deleted_at          timestamptz,
    updated_at          timestamptz NOT NULL,

    CONSTRAINT device_sync_pkey PRIMARY KEY (tenant_id, device_id),
    CONSTRAINT device_sync_id_key UNIQUE (id),
    CONSTRAINT device_sync_id_check          CHECK (starts_with(id, 'dsy_') AND octet_length(id) = 30),
    CONSTRAINT device_sync_tenant_id_check   CHECK (starts_with(tenant_id, 'ten_') AND octet_length(tenant_id) = 30),
    CONSTRAINT device_sync_device_id_check   CHECK (starts_with(device_id, 'dev_') AND octet_length(device_id) = 30),
    CONSTRAINT device_sync_property_id_check CHECK (starts_with(property_id, 'prp_') AND octet_length(property_id) = 30),
    CONSTRAINT device_sync_operator_check    CHECK (starts_with(operator_id, 'op_') AND octet_length(operator_id) = 29),
    CONSTRAINT device_sync_session_check     CHECK (starts_with(session_id, 'bos_') AND octet_length(session_id) = 30),
    CONSTRAINT device_sync_operator_ids_check CHECK (cardinality(operator_ids) <= 32),
    CONSTRAINT device_sync_app_version_check CHECK (char_length(app_version) BETWEEN 1 AND 64),
    CONSTRAINT device_sync_platform_check    CHECK (app_platform IN ('win32', 'darwin', 'linux')),
    CONSTRAINT device_sync_channel_check     CHECK (installer_channel IN ('stable', 'beta', 'canary')),
    CONSTRAINT device_sync_network_check     CHECK (network_profile IN ('good', 'flaky', 'offline-recently')),
    CONSTRAINT device_sync_hint_id_check     CHECK (starts_with(hint_id, 'oaq_') AND octet_length(hint_id) = 30),
    CONSTRAINT device_sync_pending_check     CHECK (pending IS NULL OR (jsonb_typeof(pending) = 'array' AND jsonb_array_length(pending) <= 50)),
    -- A device deleted before it ever reported has a tombstone row and
    -- nothing else.
    CONSTRAINT device_sync_reported_check    CHECK (deleted_at IS NOT NULL OR (property_id IS NOT NULL AND operator_id IS NOT NULL
                                                    AND session_id IS NOT NULL AND sent_at IS NOT NULL AND last_heartbeat_at IS NOT NULL)),
    CONSTRAINT device_sync_hint_check        CHECK ((hint_id IS NULL) = (pending IS NULL) AND (pending IS NULL) = (pending_reported_at IS NULL))
);

-- GET /v1/devices pages a property's devices by device id.
CREATE INDEX device_sync_property_idx ON bff.device_sync (tenant_id, property_id, device_id);
-- GET /v1/devices/hints reads an operator's devices.
CREATE INDEX device_sync_operator_idx ON bff.device_sync (tenant_id, operator_id);
-- heartbeat-sweeper finds live devices gone silent.
CREATE INDEX device_sync_silent_idx ON bff.device_sync (last_heartbeat_at)
    WHERE lost_at IS NULL AND deleted_at IS NULL;

ALTER TABLE bff.device_sync ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.device_sync FORCE ROW LEVEL SECURITY;

-- NULLIF: after a transaction-local set_config has committed, the setting
-- reads '' rather than NULL; both must match nothing.
CREATE POLICY app_select ON bff.device_sync FOR SELECT TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_insert ON bff.device_sync FOR INSERT TO bff_app
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_update ON bff.device_sync FOR UPDATE TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
-- All rows: an UPDATE whose WHERE reads columns must also pass the SELECT
-- policy with its new row, which has lost_at set.
CREATE POLICY jobs_select ON bff.device_sync FOR SELECT TO bff_jobs
    USING (true);
CREATE POLICY jobs_update ON bff.device_sync FOR UPDATE TO bff_jobs
    USING (lost_at IS NULL AND deleted_at IS NULL)
    WITH CHECK (lost_at IS NOT NULL);

REVOKE ALL ON TABLE bff.device_sync FROM PUBLIC;
GRANT SELECT, INSERT ON TABLE bff.device_sync TO bff_app;
GRANT UPDATE (property_id, operator_id, operator_ids, session_id, sent_at, last_heartbeat_at, app_version, app_platform,
              installer_channel, network_profile, hint_id, pending, pending_reported_at, lost_at,
              deleted_at, updated_at)
    ON TABLE bff.device_sync TO bff_app;
GRANT SELECT ON TABLE bff.device_sync TO bff_jobs;
GRANT UPDATE (lost_at) ON TABLE bff.device_sync TO bff_jobs;

-- A tombstone is permanent: no update clears or moves deleted_at, and no
-- update touches a deleted row but the sweeper's (which its policy
-- already excludes). Stops the owner and superusers too.
CREATE FUNCTION bff.device_sync_tombstone() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF OLD.deleted_at IS NOT NULL THEN
        RAISE EXCEPTION 'bff.device_sync: device % is deleted; % by % refused', OLD.device_id, TG_OP, current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION bff.device_sync_tombstone() FROM PUBLIC;
CREATE TRIGGER device_sync_tombstone
    BEFORE UPDATE ON bff.device_sync
    FOR EACH ROW EXECUTE FUNCTION bff.device_sync_tombstone();
CREATE TRIGGER device_sync_no_truncate
    BEFORE TRUNCATE ON bff.device_sync
    FOR EACH STATEMENT EXECUTE FUNCTION bff.refuse_write_once();

-- heartbeat-sweeper's events go out through the outbox with the update that
-- causes them. bff_jobs may insert that one subject and nothing else, for
-- the tenant it set in the transaction (outbox.Add's own filter).
CREATE POLICY jobs_insert_heartbeat_lost ON bff.outbox
    FOR INSERT TO bff_jobs
    WITH CHECK (subject = 'melmastoon.bff.backoffice.device.heartbeat.lost.v1'
                AND tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
GRANT INSERT ON TABLE bff.outbox TO bff_jobs;

-- The device's sync cursor (DeviceSyncStatus.lastCursor): what the BFF
-- believes the device has; sync-service stays the authority. One row per
-- device, only ever moved forward: every write is an upsert whose WHERE
-- requires a higher cursor_version, so replies of sync-service applied out
-- of order never move it back.
--   bff_app   SELECT, INSERT, UPDATE of its own tenant's rows.
--   bff_jobs  nothing.
CREATE TABLE bff.device_cursor (
    tenant_id          text        NOT NULL,
    device_id          text        NOT NULL,
    pull_cursor        text        NOT NULL,
    push_ack           text        NOT NULL,
    cursor_version     bigint      NOT NULL,
    server_timestamp   timestamptz NOT NULL,
    last_handshake_at  timestamptz,
    updated_at         timestamptz NOT NULL,

    CONSTRAINT device_cursor_pkey PRIMARY KEY (tenant_id, device_id),
    CONSTRAINT device_cursor_tenant_id_check CHECK (starts_with(tenant_id, 'ten_') AND octet_length(tenant_id) = 30),
    CONSTRAINT device_cursor_device_id_check CHECK (starts_with(device_id, 'dev_') AND octet_length(device_id) = 30),
    CONSTRAINT device_cursor_pull_check      CHECK (octet_length(pull_cursor) <= 512),
    CONSTRAINT device_cursor_ack_check       CHECK (octet_length(push_ack) <= 512),
    CONSTRAINT device_cursor_version_check   CHECK (cursor_version >= 0)
);

ALTER TABLE bff.device_cursor ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.device_cursor FORCE ROW LEVEL SECURITY;
CREATE POLICY app_select ON bff.device_cursor FOR SELECT TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_insert ON bff.device_cursor FOR INSERT TO bff_app
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_update ON bff.device_cursor FOR UPDATE TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
REVOKE ALL ON TABLE bff.device_cursor FROM PUBLIC;
GRANT SELECT, INSERT ON TABLE bff.device_cursor TO bff_app;
GRANT UPDATE (pull_cursor, push_ack, cursor_version, server_timestamp, last_handshake_at, updated_at)
    ON TABLE bff.device_cursor TO bff_app;
