-- OfflineActionQueueHint lives 7 days (domain model §10): the retention
-- job clears a live device's hint (hint_id, pending, pending_reported_at)
-- once it was reported more than 7 days ago. Reads already hide such
-- hints; this removes the data. A deleted device's hint is cleared with
-- its tombstone (devices.Delete), since the tombstone allows no later
-- update.
--
-- bff_jobs gets UPDATE of the three hint columns, and a policy that lets
-- it only empty them, only on live rows whose hint is past 7 days — so a
-- mistaken job can clear less, never a fresh hint. Because permissive
-- policies combine with OR (this one and heartbeat-sweeper's
-- jobs_update), a trigger keeps the two kinds of bff_jobs update apart:
-- an update either marks a device lost (lost_at from NULL, hint untouched)
-- or clears an expired hint (lost_at untouched), nothing else.

GRANT UPDATE (hint_id, pending, pending_reported_at) ON TABLE bff.device_sync TO bff_jobs;

CREATE POLICY jobs_expire_hints ON bff.device_sync FOR UPDATE TO bff_jobs
    USING (deleted_at IS NULL AND pending_reported_at < now() - interval '7 days')
    WITH CHECK (hint_id IS NULL AND pending IS NULL AND pending_reported_at IS NULL);

CREATE FUNCTION bff.device_sync_jobs_update() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    hint_changed boolean := (NEW.hint_id, NEW.pending, NEW.pending_reported_at)
                            IS DISTINCT FROM (OLD.hint_id, OLD.pending, OLD.pending_reported_at);
    lost_changed boolean := NEW.lost_at IS DISTINCT FROM OLD.lost_at;
BEGIN
    IF hint_changed AND lost_changed THEN
        RAISE EXCEPTION 'bff.device_sync: % may mark a device lost or clear its hint, not both', current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF lost_changed AND OLD.lost_at IS NOT NULL THEN
        RAISE EXCEPTION 'bff.device_sync: device % is already marked lost', OLD.device_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF hint_changed AND NOT (OLD.pending_reported_at < now() - interval '7 days'
                             AND NEW.hint_id IS NULL AND NEW.pending IS NULL AND NEW.pending_reported_at IS NULL) THEN
        RAISE EXCEPTION 'bff.device_sync: the hint of device % is not past 7 days', OLD.device_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION bff.device_sync_jobs_update() FROM PUBLIC;
CREATE TRIGGER device_sync_jobs_update
    BEFORE UPDATE ON bff.device_sync
    FOR EACH ROW WHEN (current_user = 'bff_jobs')
    EXECUTE FUNCTION bff.device_sync_jobs_update();

-- The retention job finds live devices' hints oldest first.
CREATE INDEX device_sync_hint_age_idx ON bff.device_sync (pending_reported_at)
    WHERE pending_reported_at IS NOT NULL AND deleted_at IS NULL;
