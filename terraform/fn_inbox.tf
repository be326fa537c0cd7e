# The inbox family: the AI suggestion and alert inboxes (GET), the
# write-once decision and acknowledgement (POST, idempotent through
# Firestore), and the consumers that mirror the upstream events into Redis.
# Kind, trigger and needs come from functions/manifest.json; `publishes`
# lists the telemetry subjects the function's code emits. Decisions and acks
# go through the transactional outbox: the request relays them right after
# commit, and outbox-relay publishes whatever that missed.

module "fn_ai_inbox" {
  source   = "./modules/function"
  name     = "ai-inbox"
  spec     = local.functions["ai-inbox"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  ]
}

module "fn_ai_decision" {
  source   = "./modules/function"
  name     = "ai-decision"
  spec     = local.functions["ai-decision"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",        # gate, first request of a device
    "melmastoon.bff.backoffice.ai_suggestion.decided.v1", # outbox, relayed after commit
  ]
}

module "fn_alerts" {
  source   = "./modules/function"
  name     = "alerts"
  spec     = local.functions["alerts"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  ]
}

module "fn_alert_ack" {
  source   = "./modules/function"
  name     = "alert-ack"
  spec     = local.functions["alert-ack"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",     # gate, first request of a device
    "melmastoon.bff.backoffice.alert.acknowledged.v1", # outbox, relayed after commit
  ]
}

module "fn_suggestion_created" {
  source    = "./modules/function"
  name      = "suggestion-created"
  spec      = local.functions["suggestion-created"]
  platform  = local.platform
  publishes = []
}

module "fn_suggestion_invalidated" {
  source    = "./modules/function"
  name      = "suggestion-invalidated"
  spec      = local.functions["suggestion-invalidated"]
  platform  = local.platform
  publishes = []
}

module "fn_alert_raised" {
  source    = "./modules/function"
  name      = "alert-raised"
  spec      = local.functions["alert-raised"]
  platform  = local.platform
  publishes = []
}

module "fn_alert_resolved" {
  source    = "./modules/function"
  name      = "alert-resolved"
  spec      = local.functions["alert-resolved"]
  platform  = local.platform
  publishes = []
}

# Scheduled (every five minutes): forwards, as bff_jobs, the decisions whose
# forward right after commit failed. It publishes nothing.
module "fn_decision_forward" {
  source    = "./modules/function"
  name      = "decision-forward"
  spec      = local.functions["decision-forward"]
  platform  = local.platform
  publishes = []
}
