-- retention: bff_jobs may delete an activity row only when it is past the
-- 90-day hot window AND BigQuery has it: at or before the export watermark
-- (the end of the last batch export-activity marked exported; batches are
-- exported in order, one open at a time, so everything up to that end is
-- in BigQuery). The database enforces it, so a buggy or hand-run DELETE
-- removes nothing else: rows the policy does not pass are simply not
-- deleted. No exported batch yet: no row may go.
DROP POLICY jobs_retention_delete ON bff.operator_activity;
CREATE POLICY jobs_retention_delete ON bff.operator_activity
    FOR DELETE TO bff_jobs
    USING (
        occurred_at < pg_catalog.now() - interval '90 days'
        AND (recorded_xid, id) <= (
            SELECT b.to_xid, b.to_id FROM bff.activity_export_batch b
             WHERE b.exported_at IS NOT NULL
             ORDER BY b.seq DESC LIMIT 1)
    );
