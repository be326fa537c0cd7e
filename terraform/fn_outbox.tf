# The outbox relay: a scheduled function (Cloud Scheduler → HTTP with an OIDC
# token of its invoker account, every minute per functions/manifest.json)
# that publishes, as the bff_jobs role, the outbox events in-request
# publishing missed (shared/outbox). Its needs give it the
# JOBS_DATABASE_URL secret and cloudsql.client; `publishes` gives it
# pubsub.publisher on topics only.

module "fn_outbox_relay" {
  source   = "./modules/function"
  name     = "outbox-relay"
  spec     = local.functions["outbox-relay"]
  platform = local.platform
  # Every emitted subject: whatever a function writes to the outbox, the
  # relay must be able to publish, or the event would wait there forever.
  publishes = local.emitted_subjects
}
