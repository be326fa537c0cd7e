# The lock-action function (http). Kind, routes and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_lock_action" {
  source   = "./modules/function"
  name     = "lock-action"
  spec     = local.functions["lock-action"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",      # gate, first request of a device
    "melmastoon.bff.backoffice.lock.action_proxied.v1", # every door-key action (outbox)
  ]
}
