-- export-activity: the ledger to BigQuery (melmastoon_audit.operator_activity)
-- exactly once.
--
-- The export walks the ledger in (recorded_xid, id) order. A batch is a
-- range of that order, planned here before anything is sent: it starts
-- after the previous batch's end and ends at or before
-- pg_snapshot_xmin(pg_current_snapshot()) at planning time. Every
-- transaction with an xid below that horizon has ended, so no row can
-- still appear inside a planned range: a transaction that commits late
-- has an xid at or above the horizon and falls in a later batch, never
-- behind the watermark.
--
-- A planned batch is loaded with a job id derived from it (its sequence
-- number and attempt): a rerun after a crash loads the same rows under the
-- same id, which BigQuery refuses as a duplicate; the exporter then asks
-- for the job and marks the batch exported once the job is DONE without
-- error. The watermark is the end of the last exported batch.
CREATE TABLE bff.activity_export_batch (
    seq         bigint      NOT NULL,
    from_xid    xid8        NOT NULL, -- exclusive start: (recorded_xid, id) > (from_xid, from_id)
    from_id     text        NOT NULL,
    to_xid      xid8        NOT NULL, -- inclusive end
    to_id       text        NOT NULL,
    row_count   integer     NOT NULL,
    attempt     integer     NOT NULL DEFAULT 1, -- a failed job (nothing loaded) is retried under the next attempt's id
    planned_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    exported_at timestamptz,          -- NULL: planned, not yet known loaded
    CONSTRAINT activity_export_batch_pkey PRIMARY KEY (seq),
    CONSTRAINT activity_export_batch_rows_check CHECK (row_count > 0),
    CONSTRAINT activity_export_batch_attempt_check CHECK (attempt BETWEEN 1 AND 1000),
    CONSTRAINT activity_export_batch_range_check CHECK ((from_xid, from_id) < (to_xid, to_id))
);
-- At most one batch in flight: a second run planning one collides here
-- (and then resumes the one planned) instead of loading an overlapping
-- range.
CREATE UNIQUE INDEX activity_export_batch_one_open_idx
    ON bff.activity_export_batch ((true)) WHERE exported_at IS NULL;

-- The exporter's scan: the rows after a position, in order.
CREATE INDEX IF NOT EXISTS operator_activity_export_idx
    ON bff.operator_activity (recorded_xid, id);

REVOKE ALL ON TABLE bff.activity_export_batch FROM PUBLIC;
-- export-activity plans, reads and completes batches; nothing deletes them
-- (they are the export's audit trail, a few rows a day).
GRANT SELECT, INSERT ON TABLE bff.activity_export_batch TO bff_jobs;
GRANT UPDATE (attempt, exported_at) ON TABLE bff.activity_export_batch TO bff_jobs;
