-- GET /v1/activity: the feeds 0002 had no index for. Every list reads
-- newest first, keyset by (occurred_at, id) after an equality prefix, so
-- each index ends (occurred_at DESC, id DESC): the page is an index range
-- read in order, LIMIT n+1 rows, no sort, whatever the table's size.
--
--   tenant feed            (tenant_id, occurred_at, id)              0002
--   one operator's feed    (tenant_id, operator_id, occurred_at, id) 0002
--   one property's feed    (tenant_id, property_id, occurred_at, id) here
--   one category's feed    (tenant_id, category, occurred_at, id)    here
--
-- Filters beyond the prefix (a category on an operator's feed, from/to)
-- are checked on rows the index yields in order; the common audit
-- questions (what did this operator do, what happened at this property,
-- which lock actions) each have their own prefix. docs/ACTIVITY.md shows
-- the plans.
--
-- Plain CREATE INDEX: tern runs a migration in a transaction, where
-- CONCURRENTLY is not allowed; on a table already large in production,
-- create these CONCURRENTLY by hand first (IF NOT EXISTS makes this a
-- no-op then).
CREATE INDEX IF NOT EXISTS operator_activity_tenant_property_time_idx
    ON bff.operator_activity (tenant_id, property_id, occurred_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS operator_activity_tenant_category_time_idx
    ON bff.operator_activity (tenant_id, category, occurred_at DESC, id DESC);
