-- LockActionProxyAudit (domain model §11): one row per door-key action the
-- BFF proxies to lock-service, kept 7 years (regulated audit).
--
-- A row is written as an intent (outcome 'unknown') in the same transaction
-- as its outbox event, BEFORE lock-service is called, and settled once the
-- answer is in: so a key that lock-service issued or revoked is never left
-- without its row, even when the function dies in between — a reconciliation
-- job settles what stayed 'unknown' by asking lock-service for
-- upstream_request_id (the lock-service idempotency key, unique per tenant,
-- derived from the request's Idempotency-Key: a retry finds the same row).
--
-- Access, role by role:
--   bff_app   INSERT + SELECT of its own tenant's rows; UPDATE of the
--             settlement columns only, of an unsettled row, once.
--   bff_jobs  SELECT of every tenant's rows and the same settlement UPDATE,
--             for the reconciliation job.
--   bff_owner owns the table; FORCE ROW LEVEL SECURITY and no policy for it
--             leave it no rows.
-- Triggers keep every row immutable once settled, and refuse DELETE of any
-- row younger than 7 years and TRUNCATE — for the owner and superusers too.

CREATE TABLE bff.lock_action_audit (
    id                  text        NOT NULL, -- lap_<ULID>
    tenant_id           text        NOT NULL,
    property_id         text        NOT NULL,
    operator_id         text        NOT NULL,
    device_id           text        NOT NULL,
    session_id          text        NOT NULL,
    reservation_id      text        NOT NULL,
    action              text        NOT NULL,
    occurred_at         timestamptz NOT NULL,
    request_id          text        NOT NULL,
    upstream_request_id text        NOT NULL,
    mfa_attestation_id  text,
    -- Settlement: 'unknown' until lock-service's answer is known.
    outcome             text        NOT NULL DEFAULT 'unknown',
    vendor              text,
    key_ids             text[],
    error_code          text,
    error_message       text,
    upstream_latency_ms integer,
    -- Verified actions (revoke): the key state read back agreed (true) or
    -- not (false); NULL when not verified.
    verified            boolean,
    settled_at          timestamptz,
    settled_by          text, -- 'request' or 'reconcile'

    CONSTRAINT lock_action_audit_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT lock_action_audit_upstream_key UNIQUE (tenant_id, upstream_request_id),
    CONSTRAINT lock_action_audit_id_check          CHECK (starts_with(id, 'lap_') AND octet_length(id) = 30),
    CONSTRAINT lock_action_audit_tenant_id_check   CHECK (starts_with(tenant_id, 'ten_') AND octet_length(tenant_id) = 30),
    CONSTRAINT lock_action_audit_property_id_check CHECK (starts_with(property_id, 'prp_') AND octet_length(property_id) = 30),
    CONSTRAINT lock_action_audit_operator_check    CHECK (starts_with(operator_id, 'op_') AND octet_length(operator_id) = 29),
    CONSTRAINT lock_action_audit_device_check      CHECK (starts_with(device_id, 'dev_') AND octet_length(device_id) = 30),
    CONSTRAINT lock_action_audit_session_check     CHECK (starts_with(session_id, 'bos_') AND octet_length(session_id) = 30),
    CONSTRAINT lock_action_audit_reservation_check CHECK (starts_with(reservation_id, 'rsv_') AND octet_length(reservation_id) = 30),
    CONSTRAINT lock_action_audit_action_check      CHECK (action IN ('issue', 'revoke', 'rebind', 'extend')),
    CONSTRAINT lock_action_audit_request_id_check  CHECK (char_length(request_id) BETWEEN 1 AND 128),
    CONSTRAINT lock_action_audit_upstream_id_check CHECK (char_length(upstream_request_id) BETWEEN 1 AND 128),
    CONSTRAINT lock_action_audit_mfa_check         CHECK (mfa_attestation_id IS NULL OR (starts_with(mfa_attestation_id, 'mfa_') AND octet_length(mfa_attestation_id) = 30)),
    CONSTRAINT lock_action_audit_outcome_check     CHECK (outcome IN ('unknown', 'success', 'failure')),
    CONSTRAINT lock_action_audit_vendor_check      CHECK (char_length(vendor) BETWEEN 1 AND 64),
    CONSTRAINT lock_action_audit_key_ids_check     CHECK (cardinality(key_ids) <= 64),
    CONSTRAINT lock_action_audit_error_code_check  CHECK (char_length(error_code) BETWEEN 1 AND 128),
    CONSTRAINT lock_action_audit_error_msg_check   CHECK (char_length(error_message) <= 500),
    CONSTRAINT lock_action_audit_latency_check     CHECK (upstream_latency_ms >= 0),
    CONSTRAINT lock_action_audit_settled_check     CHECK ((outcome = 'unknown') = (settled_at IS NULL)),
    CONSTRAINT lock_action_audit_settled_by_check  CHECK (settled_by IS NULL OR settled_by IN ('request', 'reconcile'))
);

-- A reservation's key history, newest first.
CREATE INDEX lock_action_audit_reservation_idx ON bff.lock_action_audit (tenant_id, reservation_id, occurred_at DESC);
-- The reconciliation job finds what is left unsettled.
CREATE INDEX lock_action_audit_unknown_idx ON bff.lock_action_audit (occurred_at) WHERE outcome = 'unknown';

ALTER TABLE bff.lock_action_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.lock_action_audit FORCE ROW LEVEL SECURITY;

-- NULLIF: after a transaction-local set_config has committed, the setting
-- reads '' rather than NULL; both must match nothing.
CREATE POLICY app_select ON bff.lock_action_audit FOR SELECT TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_insert ON bff.lock_action_audit FOR INSERT TO bff_app
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '') AND outcome = 'unknown');
CREATE POLICY app_update ON bff.lock_action_audit FOR UPDATE TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '') AND outcome = 'unknown')
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY jobs_select ON bff.lock_action_audit FOR SELECT TO bff_jobs
    USING (true);
CREATE POLICY jobs_update ON bff.lock_action_audit FOR UPDATE TO bff_jobs
    USING (outcome = 'unknown')
    WITH CHECK (outcome <> 'unknown');

REVOKE ALL ON TABLE bff.lock_action_audit FROM PUBLIC;
GRANT SELECT, INSERT ON TABLE bff.lock_action_audit TO bff_app;
GRANT UPDATE (outcome, vendor, key_ids, error_code, error_message, upstream_latency_ms, verified, settled_at, settled_by)
    ON TABLE bff.lock_action_audit TO bff_app;
GRANT SELECT ON TABLE bff.lock_action_audit TO bff_jobs;
GRANT UPDATE (outcome, vendor, key_ids, error_code, error_message, upstream_latency_ms, verified, settled_at, settled_by)
    ON TABLE bff.lock_action_audit TO bff_jobs;

-- Immutable at the database: an unsettled row may be settled once (its
-- intent columns unchanged); nothing else changes; a row is deleted only
-- past its 7-year retention.
CREATE FUNCTION bff.lock_action_audit_guard() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    settle text[] := ARRAY['outcome', 'vendor', 'key_ids', 'error_code', 'error_message',
                           'upstream_latency_ms', 'verified', 'settled_at', 'settled_by'];
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.outcome = 'unknown' AND NEW.outcome <> 'unknown'
       AND (to_jsonb(NEW) - settle) = (to_jsonb(OLD) - settle) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND OLD.occurred_at < now() - interval '7 years' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'bff.lock_action_audit is immutable for 7 years: % by % refused', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION bff.lock_action_audit_guard() FROM PUBLIC;
CREATE TRIGGER lock_action_audit_guard
    BEFORE UPDATE OR DELETE ON bff.lock_action_audit
    FOR EACH ROW EXECUTE FUNCTION bff.lock_action_audit_guard();
CREATE TRIGGER lock_action_audit_no_truncate
    BEFORE TRUNCATE ON bff.lock_action_audit
    FOR EACH STATEMENT EXECUTE FUNCTION bff.refuse_write_once();
