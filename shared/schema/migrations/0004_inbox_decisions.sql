-- Decision and acknowledgement logs of the AI suggestion and alert inboxes
-- (domain model §5, §6; SPEC §6): write-once, kept forever.
--
-- Write-once is the unique key, not a read-then-write in Go: under any
-- concurrency one INSERT … ON CONFLICT DO NOTHING wins and every other one
-- affects no row, which the service answers 409.
--
-- Access, role by role:
--   bff_app   INSERT + SELECT of its own tenant's rows; UPDATE of nothing but
--             ai_decision.forwarded_at (the decision was handed to
--             ai-orchestrator-service). No DELETE, TRUNCATE.
--   bff_jobs  SELECT of every tenant's decisions and UPDATE of forwarded_at
--             on unforwarded ones, for the decision-forward job. Nothing on
--             acks.
--   bff_owner owns the tables; FORCE ROW LEVEL SECURITY and no policy for it
--             leave it no rows.
-- A trigger keeps both tables immutable apart from forwarded_at, even for
-- the owner and superusers.

CREATE TABLE bff.ai_decision (
    id                text        NOT NULL, -- the inbox entry's aim_ id: one decision per suggestion
    tenant_id         text        NOT NULL,
    property_id       text        NOT NULL,
    suggestion_id     text        NOT NULL, -- ai-orchestrator-service's id
    outcome           text        NOT NULL,
    modified_delta    jsonb,
    notes             text,
    decided_by        text        NOT NULL,
    decided_device_id text        NOT NULL,
    session_id        text        NOT NULL,
    decided_at        timestamptz NOT NULL,
    request_id        text        NOT NULL,
    forwarded_at      timestamptz,

    CONSTRAINT ai_decision_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT ai_decision_suggestion_key UNIQUE (tenant_id, suggestion_id),
    CONSTRAINT ai_decision_id_check          CHECK (starts_with(id, 'aim_') AND octet_length(id) = 30),
    CONSTRAINT ai_decision_tenant_id_check   CHECK (starts_with(tenant_id, 'ten_') AND octet_length(tenant_id) = 30),
    CONSTRAINT ai_decision_property_id_check CHECK (starts_with(property_id, 'prp_') AND octet_length(property_id) = 30),
    CONSTRAINT ai_decision_suggestion_id_check CHECK (char_length(suggestion_id) BETWEEN 1 AND 128),
    CONSTRAINT ai_decision_outcome_check     CHECK (outcome IN ('accepted', 'rejected', 'modified')),
    CONSTRAINT ai_decision_delta_check       CHECK (modified_delta IS NULL OR jsonb_typeof(modified_delta) = 'object'),
    CONSTRAINT ai_decision_notes_check       CHECK (char_length(notes) <= 500),
    CONSTRAINT ai_decision_decided_by_check  CHECK (starts_with(decided_by, 'op_') AND octet_length(decided_by) = 29),
    CONSTRAINT ai_decision_device_check      CHECK (starts_with(decided_device_id, 'dev_') AND octet_length(decided_device_id) = 30),
    CONSTRAINT ai_decision_session_check     CHECK (starts_with(session_id, 'bos_') AND octet_length(session_id) = 30),
    CONSTRAINT ai_decision_request_id_check  CHECK (char_length(request_id) BETWEEN 1 AND 128)
);

-- The inbox joins decisions onto a property's suggestions.
CREATE INDEX ai_decision_property_idx ON bff.ai_decision (tenant_id, property_id, decided_at DESC);
-- The forward retry job finds what is left.
CREATE INDEX ai_decision_unforwarded_idx ON bff.ai_decision (decided_at) WHERE forwarded_at IS NULL;

CREATE TABLE bff.alert_ack (
    id              text        NOT NULL, -- the inbox entry's ali_ id (shared by the operators who ack it)
    tenant_id       text        NOT NULL,
    property_id     text        NOT NULL,
    alert_id        text        NOT NULL, -- notification-service's id
    operator_id     text        NOT NULL,
    device_id       text        NOT NULL,
    session_id      text        NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    request_id      text        NOT NULL,

    CONSTRAINT alert_ack_pkey PRIMARY KEY (tenant_id, alert_id, operator_id),
    CONSTRAINT alert_ack_id_check          CHECK (starts_with(id, 'ali_') AND octet_length(id) = 30),
    CONSTRAINT alert_ack_tenant_id_check   CHECK (starts_with(tenant_id, 'ten_') AND octet_length(tenant_id) = 30),
    CONSTRAINT alert_ack_property_id_check CHECK (starts_with(property_id, 'prp_') AND octet_length(property_id) = 30),
    CONSTRAINT alert_ack_alert_id_check    CHECK (char_length(alert_id) BETWEEN 1 AND 128),
    CONSTRAINT alert_ack_operator_check    CHECK (starts_with(operator_id, 'op_') AND octet_length(operator_id) = 29),
    CONSTRAINT alert_ack_device_check      CHECK (starts_with(device_id, 'dev_') AND octet_length(device_id) = 30),
    CONSTRAINT alert_ack_session_check     CHECK (starts_with(session_id, 'bos_') AND octet_length(session_id) = 30),
    CONSTRAINT alert_ack_request_id_check  CHECK (char_length(request_id) BETWEEN 1 AND 128)
);

CREATE INDEX alert_ack_property_idx ON bff.alert_ack (tenant_id, property_id, acknowledged_at DESC);

ALTER TABLE bff.ai_decision ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.ai_decision FORCE ROW LEVEL SECURITY;
ALTER TABLE bff.alert_ack ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.alert_ack FORCE ROW LEVEL SECURITY;

-- NULLIF: after a transaction-local set_config has committed, the setting
-- reads '' rather than NULL; both must match nothing.
CREATE POLICY app_select ON bff.ai_decision FOR SELECT TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_insert ON bff.ai_decision FOR INSERT TO bff_app
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_update ON bff.ai_decision FOR UPDATE TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
-- All rows, not only unforwarded ones: an UPDATE whose WHERE reads columns
-- must also pass the SELECT policy with its new row, which is forwarded.
CREATE POLICY jobs_select ON bff.ai_decision FOR SELECT TO bff_jobs
    USING (true);
-- WITH CHECK: without it USING would also judge the new row, which has
-- forwarded_at set by definition.
CREATE POLICY jobs_update ON bff.ai_decision FOR UPDATE TO bff_jobs
    USING (forwarded_at IS NULL)
    WITH CHECK (forwarded_at IS NOT NULL);

CREATE POLICY app_select ON bff.alert_ack FOR SELECT TO bff_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY app_insert ON bff.alert_ack FOR INSERT TO bff_app
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));

REVOKE ALL ON TABLE bff.ai_decision, bff.alert_ack FROM PUBLIC;
GRANT SELECT, INSERT ON TABLE bff.ai_decision TO bff_app;
GRANT UPDATE (forwarded_at) ON TABLE bff.ai_decision TO bff_app;
GRANT SELECT ON TABLE bff.ai_decision TO bff_jobs;
GRANT UPDATE (forwarded_at) ON TABLE bff.ai_decision TO bff_jobs;
GRANT SELECT, INSERT ON TABLE bff.alert_ack TO bff_app;

-- Immutable at the database: grants already keep the roles out of every
-- other column; this also stops the owner and superusers. forwarded_at may
-- only go from NULL to a time, once.
CREATE FUNCTION bff.ai_decision_write_once() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.forwarded_at IS NULL AND NEW.forwarded_at IS NOT NULL
       AND (to_jsonb(NEW) - 'forwarded_at') = (to_jsonb(OLD) - 'forwarded_at') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'bff.ai_decision is write-once: % by % refused', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION bff.ai_decision_write_once() FROM PUBLIC;
CREATE TRIGGER ai_decision_write_once
    BEFORE UPDATE OR DELETE ON bff.ai_decision
    FOR EACH ROW EXECUTE FUNCTION bff.ai_decision_write_once();

-- Statement level, for TRUNCATE (which row triggers do not see) and for
-- every write to the acks.
CREATE FUNCTION bff.refuse_write_once() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'bff.% is write-once: % by % refused', TG_TABLE_NAME, TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION bff.refuse_write_once() FROM PUBLIC;
CREATE TRIGGER alert_ack_write_once
    BEFORE UPDATE OR DELETE OR TRUNCATE ON bff.alert_ack
    FOR EACH STATEMENT EXECUTE FUNCTION bff.refuse_write_once();
CREATE TRIGGER ai_decision_no_truncate
    BEFORE TRUNCATE ON bff.ai_decision
    FOR EACH STATEMENT EXECUTE FUNCTION bff.refuse_write_once();
