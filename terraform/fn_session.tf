# The session family: GET/PATCH/DELETE /v1/session, and the consumer of
# iam-service's revocations. Kind, trigger and needs come from
# functions/manifest.json; `publishes` lists the telemetry subjects the
# function's code emits (it gets pubsub.publisher on exactly those topics).

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
