-- retention prunes the hash chain's links with their rows (issue 10): a
-- link per activity row kept forever would grow bff.activity_chain without
-- bound while the ledger itself keeps 90 days. A tenant's pruned links are
-- replaced by its anchor (activity_chain_head.anchor_seq, anchor_hash =
-- the chain_hash of link anchor_seq), from which VerifyPostgres starts; the
-- exported rows in BigQuery keep every link for the full chain.
--
-- Pruning must never hide a break, so the database, not the job, decides
-- what may go. bff_jobs may
--   * advance a tenant's anchor only forward, only onto an existing link
--     whose chain_hash it copies, and only across links that are all
--     present and whose rows retention has taken: gone, past 90 days and
--     at or before the export watermark (migration 0007's delete rule). A
--     row deleted any other way (a young or unexported one) stays a
--     verifiable "deleted" break behind which the anchor cannot move;
--   * delete a link only at or before its tenant's anchor and only when
--     its row is gone; and
--   * not commit an advanced anchor while links at or before it remain (a
--     deferred check), so the anchor and the deletion of the links it
--     passes happen in one transaction, and a link can be deleted only in
--     the transaction that moved the anchor past it.
-- Violations raise insufficient_privilege, failing the whole transaction:
-- a buggy caller loses its batch, never a link that still proves
-- something. Every other role still cannot delete a link, and nobody can
-- update or truncate one.

-- retention: DELETE of pruned links (the guard below decides which).
GRANT DELETE ON TABLE bff.activity_chain TO bff_jobs;
CREATE POLICY jobs_prune ON bff.activity_chain FOR DELETE TO bff_jobs USING (true);

-- The statement-level append-only trigger now lets bff_jobs's DELETE
-- through to the row guard; everything else is refused as before.
CREATE OR REPLACE FUNCTION bff.activity_chain_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = 'bff_jobs' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'bff.activity_chain is append-only: % by % refused', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Row level: the anchor lookup and the row's existence are per link.
-- Invoker's rights: bff_jobs sees every activity row (jobs_export_select),
-- so "not found" means gone.
CREATE FUNCTION bff.activity_chain_prune_guard() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    anchor bigint;
BEGIN
    IF current_user <> 'bff_jobs' THEN
        RAISE EXCEPTION 'bff.activity_chain is append-only: DELETE by % refused', current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT h.anchor_seq INTO anchor FROM bff.activity_chain_head h WHERE h.tenant_id = OLD.tenant_id;
    IF OLD.seq > coalesce(anchor, 0) THEN
        RAISE EXCEPTION 'bff.activity_chain: link % of tenant % lies beyond its anchor (%): advance the anchor first',
            OLD.seq, OLD.tenant_id, coalesce(anchor, 0)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM bff.operator_activity a WHERE a.id = OLD.activity_id) THEN
        RAISE EXCEPTION 'bff.activity_chain: link % of tenant % still has its row %',
            OLD.seq, OLD.tenant_id, OLD.activity_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION bff.activity_chain_prune_guard() FROM PUBLIC;
CREATE TRIGGER activity_chain_prune_guard
    BEFORE DELETE ON bff.activity_chain
    FOR EACH ROW EXECUTE FUNCTION bff.activity_chain_prune_guard();

-- The anchor moves only forward and only across links retention may prune.
-- Sealing (export-activity) upserts heads without touching the anchor, so
-- the WHEN clauses keep it off this path.
CREATE FUNCTION bff.activity_chain_anchor_guard() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    linked   bytea;
    crossed  bigint;
    prunable bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'bff.activity_chain_head: a new head of tenant % starts unanchored', NEW.tenant_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.anchor_seq <= OLD.anchor_seq THEN
        RAISE EXCEPTION 'bff.activity_chain_head: the anchor of tenant % only advances (% to %)',
            NEW.tenant_id, OLD.anchor_seq, NEW.anchor_seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT c.chain_hash INTO linked FROM bff.activity_chain c
     WHERE c.tenant_id = NEW.tenant_id AND c.seq = NEW.anchor_seq;
    IF linked IS DISTINCT FROM NEW.anchor_hash THEN
        RAISE EXCEPTION 'bff.activity_chain_head: the anchor of tenant % must be link %''s chain hash',
            NEW.tenant_id, NEW.anchor_seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT count(*),
           count(*) FILTER (WHERE c.occurred_at < pg_catalog.now() - interval '90 days'
                              AND (c.recorded_xid, c.activity_id) <= (
                                  SELECT b.to_xid, b.to_id FROM bff.activity_export_batch b
                                   WHERE b.exported_at IS NOT NULL
                                   ORDER BY b.seq DESC LIMIT 1)
                              AND NOT EXISTS (SELECT 1 FROM bff.operator_activity a WHERE a.id = c.activity_id))
      INTO crossed, prunable
      FROM bff.activity_chain c
     WHERE c.tenant_id = NEW.tenant_id AND c.seq > OLD.anchor_seq AND c.seq <= NEW.anchor_seq;
    IF crossed <> NEW.anchor_seq - OLD.anchor_seq OR prunable <> crossed THEN
        RAISE EXCEPTION 'bff.activity_chain_head: the anchor of tenant % may not pass links % to %: % present, % of them taken by retention',
            NEW.tenant_id, OLD.anchor_seq + 1, NEW.anchor_seq, crossed, prunable
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION bff.activity_chain_anchor_guard() FROM PUBLIC;
CREATE TRIGGER activity_chain_head_anchor_insert
    BEFORE INSERT ON bff.activity_chain_head
    FOR EACH ROW
    WHEN (NEW.anchor_seq <> 0
          OR NEW.anchor_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
    EXECUTE FUNCTION bff.activity_chain_anchor_guard();
CREATE TRIGGER activity_chain_head_anchor_update
    BEFORE UPDATE ON bff.activity_chain_head
    FOR EACH ROW
    WHEN (NEW.anchor_seq IS DISTINCT FROM OLD.anchor_seq OR NEW.anchor_hash IS DISTINCT FROM OLD.anchor_hash)
    EXECUTE FUNCTION bff.activity_chain_anchor_guard();

-- At commit: an advanced anchor has no links left at or before it.
CREATE FUNCTION bff.activity_chain_anchor_pruned() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM bff.activity_chain c WHERE c.tenant_id = NEW.tenant_id AND c.seq <= NEW.anchor_seq) THEN
        RAISE EXCEPTION 'bff.activity_chain_head: tenant %''s links up to its anchor % must be deleted in the transaction that advances it',
            NEW.tenant_id, NEW.anchor_seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION bff.activity_chain_anchor_pruned() FROM PUBLIC;
CREATE CONSTRAINT TRIGGER activity_chain_head_anchor_pruned
    AFTER UPDATE ON bff.activity_chain_head
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.anchor_seq > OLD.anchor_seq)
    EXECUTE FUNCTION bff.activity_chain_anchor_pruned();
