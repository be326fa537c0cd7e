# The session family: GET/PATCH/DELETE /v1/session, the consumer of
# iam-service's revocations, the sweeper that expires idle sessions, and the
# device's live events (GET /v1/events).
# Kind, trigger and needs come from functions/manifest.json; `publishes`
# lists the telemetry subjects the function's code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_session" {
  source   = "./modules/function"
  name     = "session"
  spec     = local.functions["session"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
    "melmastoon.bff.backoffice.session.closed.v1", # DELETE (sign-out)
  ]
}

module "fn_session_revoked" {
  source   = "./modules/function"
  name     = "session-revoked"
  spec     = local.functions["session-revoked"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.closed.v1",
  ]
}

module "fn_session_sweeper" {
  source   = "./modules/function"
  name     = "session-sweeper"
  spec     = local.functions["session-sweeper"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.closed.v1", # idle sessions it expires
  ]
}

module "fn_events" {
  source   = "./modules/function"
  name     = "events"
  spec     = local.functions["events"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  ]
}
