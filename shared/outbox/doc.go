// Package outbox is the transactional outbox: events that accompany a ledger
// write (a decision, an acknowledgement, a lock audit row) are stored in the
// same transaction as the write, so the event exists exactly when the write
// does, and are relayed to Pub/Sub afterwards. Delivery is at least once:
// an event may be published twice (consumers deduplicate by event id), but
// an event whose write committed is never lost, even while Pub/Sub is down.
//
// # How an event travels
//
//  1. Add, inside the caller's pg.DB.InTenantTx, inserts one row per event
//     into bff.outbox. It commits or rolls back with the write.
//  2. After the commit, Relay.Send publishes the same envelopes (bounded by
//     Options.PublishTimeout, 2 s by default) and deletes the rows Pub/Sub
//     accepted. It never fails the request: what it could not publish stays
//     in the table.
//  3. The scheduled function outbox-relay (every minute) runs Drain as the
//     jobs role: batches of due rows older than DrainOptions.MinAge (15 s, so
//     it does not race a Send still in flight), oldest first, taken with
//     FOR UPDATE SKIP LOCKED and kept locked while they are published, so two
//     overlapping runs never publish the same row at the same time. Published
//     rows are deleted; failed ones get attempts+1, last_error and an
//     exponential backoff (next_attempt_at, 10 s doubling up to 1 h).
//
// # The table (migration 0003_outbox.sql)
//
// bff.outbox(id = event id, tenant_id, subject, envelope = the message data
// bytes, created_at, attempts, next_attempt_at, last_error), row-level
// security forced: bff_app sees and deletes only its tenant's rows, bff_jobs
// sees all of them and may only update the retry columns.
//
// # For on-call
//
// The backlog, as bff_jobs (or an admin):
//
//	SELECT count(*), min(created_at), max(attempts) FROM bff.outbox;
//	SELECT id, tenant_id, subject, attempts, next_attempt_at, last_error
//	  FROM bff.outbox ORDER BY created_at LIMIT 20;
//	SELECT convert_from(envelope, 'UTF8')::jsonb FROM bff.outbox WHERE id = 'evt_…';
//
// A few rows younger than a minute are normal (Send's misses, waiting for
// the next relay run). Log lines, all with eventId/subject/tenantId or
// counts:
//
//   - WARN "outbox: events left for outbox-relay" (Send): Pub/Sub did not
//     accept them within the bound; the relay publishes them within about a
//     minute. Many of these mean Pub/Sub is slow or down.
//   - WARN "outbox: published events not removed" (Send): they will be
//     published a second time by the relay; harmless, consumers deduplicate.
//   - WARN "outbox: batch not published" (Drain): Pub/Sub refused or timed
//     out; the rows back off and are retried.
//   - ERROR "outbox: poison event" (Drain): the stored envelope no longer
//     validates (or disagrees with its row). It is retried with backoff
//     (at most hourly) and never blocks other rows; fix or delete it by hand
//     after reading it with the query above.
//   - ERROR "outbox: event keeps failing" (Drain): a valid event failed
//     DrainOptions.ErrorAfter times in a row, typically a topic missing in
//     the project (terraform/pubsub.tf) or a publisher grant missing for the
//     outbox-relay service account.
//   - INFO "outbox: drained" (Drain): one per run, with the counts.
//
// The outbox-relay function answers 500 (and Cloud Scheduler records a
// failed run) when the database cannot be reached or Pub/Sub refused every
// event the run tried.
package outbox
