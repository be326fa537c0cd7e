-- Tamper evidence for the operator activity ledger: each tenant's rows form
-- a hash chain, so an edited, deleted, reordered or slipped-in row shows
-- (shared/ledgerchain, the verify-ledger job, docs/ACTIVITY.md).
--
-- The chain is sealed after the fact, not on insert. Every request writes
-- an activity row, and a chain head updated in the insert's transaction
-- would serialise a tenant's writers on one row lock held to commit (and
-- through whole actions for rows written inside an action's transaction).
-- Instead one sealer at a time (export-activity's run, under the lock of
-- bff.activity_chain_seal) walks the ledger in the exporter's order,
-- (recorded_xid, id), below pg_snapshot_xmin(pg_current_snapshot()): every
-- transaction below that horizon has ended, so no row can later appear
-- inside the sealed range and a tenant's chain only ever grows at its end.
-- The insert path is untouched.
--
-- Link n of a tenant's chain holds the row's hash (SHA-256 of its canonical
-- content) and chain_hash = SHA-256(tenant, n, chain_hash of link n-1,
-- row_hash); link 1 chains from 32 zero bytes. The links are exported to
-- BigQuery with their rows, which is the copy an owner of this database
-- cannot rewrite.
--
-- Access: bff_jobs seals (INSERT links, UPDATE heads and the seal position)
-- and verifies (SELECT); bff_app has nothing here. A statement trigger
-- keeps links append-only for every role, as on the ledger itself.
CREATE TABLE bff.activity_chain (
    tenant_id    text        NOT NULL,
    seq          bigint      NOT NULL,
    activity_id  text        NOT NULL,
    recorded_xid xid8        NOT NULL,
    -- The row's own time: a link whose row is gone is a pruned row (past
    -- the 90-day window and exported) or a deleted one.
    occurred_at  timestamptz NOT NULL,
    row_hash     bytea       NOT NULL,
    prev_hash    bytea       NOT NULL,
    chain_hash   bytea       NOT NULL,
    CONSTRAINT activity_chain_pkey PRIMARY KEY (tenant_id, seq),
    CONSTRAINT activity_chain_activity_key UNIQUE (activity_id),
    CONSTRAINT activity_chain_seq_check CHECK (seq >= 1),
    CONSTRAINT activity_chain_hashes_check CHECK (
        octet_length(row_hash) = 32 AND octet_length(prev_hash) = 32 AND octet_length(chain_hash) = 32)
);

-- Each tenant's last link, where the next one chains from; and the anchor a
-- pruned chain starts after (links 1..anchor_seq are gone with their rows).
CREATE TABLE bff.activity_chain_head (
    tenant_id   text   NOT NULL,
    seq         bigint NOT NULL,
    chain_hash  bytea  NOT NULL,
    anchor_seq  bigint NOT NULL DEFAULT 0,
    anchor_hash bytea  NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000',
    CONSTRAINT activity_chain_head_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT activity_chain_head_seq_check CHECK (seq >= 1 AND anchor_seq BETWEEN 0 AND seq),
    CONSTRAINT activity_chain_head_hashes_check CHECK (octet_length(chain_hash) = 32 AND octet_length(anchor_hash) = 32)
);

-- How far the ledger is sealed, in (recorded_xid, id) order: one row, which
-- a sealer locks FOR UPDATE, so sealers run one after another.
CREATE TABLE bff.activity_chain_seal (
    singleton  boolean     NOT NULL DEFAULT true,
    sealed_xid xid8        NOT NULL,
    sealed_id  text        NOT NULL,
    sealed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT activity_chain_seal_pkey PRIMARY KEY (singleton),
    CONSTRAINT activity_chain_seal_singleton_check CHECK (singleton)
);
INSERT INTO bff.activity_chain_seal (sealed_xid, sealed_id) VALUES ('0', '');

ALTER TABLE bff.activity_chain ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.activity_chain FORCE ROW LEVEL SECURITY;
ALTER TABLE bff.activity_chain_head ENABLE ROW LEVEL SECURITY;
ALTER TABLE bff.activity_chain_head FORCE ROW LEVEL SECURITY;

CREATE POLICY jobs_select ON bff.activity_chain FOR SELECT TO bff_jobs USING (true);
CREATE POLICY jobs_insert ON bff.activity_chain FOR INSERT TO bff_jobs WITH CHECK (true);
CREATE POLICY jobs_select ON bff.activity_chain_head FOR SELECT TO bff_jobs USING (true);
CREATE POLICY jobs_insert ON bff.activity_chain_head FOR INSERT TO bff_jobs WITH CHECK (true);
CREATE POLICY jobs_update ON bff.activity_chain_head FOR UPDATE TO bff_jobs USING (true) WITH CHECK (true);

REVOKE ALL ON TABLE bff.activity_chain, bff.activity_chain_head, bff.activity_chain_seal FROM PUBLIC;
GRANT SELECT, INSERT ON TABLE bff.activity_chain TO bff_jobs;
GRANT SELECT, INSERT, UPDATE ON TABLE bff.activity_chain_head TO bff_jobs;
GRANT SELECT, UPDATE ON TABLE bff.activity_chain_seal TO bff_jobs;

CREATE FUNCTION bff.activity_chain_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'bff.activity_chain is append-only: % by % refused', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION bff.activity_chain_append_only() FROM PUBLIC;

CREATE TRIGGER activity_chain_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON bff.activity_chain
    FOR EACH STATEMENT EXECUTE FUNCTION bff.activity_chain_append_only();

-- operator.activity.v1 (per-action telemetry, sampled): export-activity
-- inserts a sample of each batch it marks exported into the outbox in the
-- marking transaction (outbox-relay publishes them), for the tenant its
-- transaction names, and no other subject.
CREATE POLICY jobs_insert_operator_activity ON bff.outbox
    FOR INSERT TO bff_jobs
    WITH CHECK (subject = 'melmastoon.bff.backoffice.operator.activity.v1'
                AND tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
