# The sync-cursor function (http). Kind, routes and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_sync_cursor" {
  source   = "./modules/function"
  name     = "sync-cursor"
  spec     = local.functions["sync-cursor"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",       # gate, first request of a device
    "melmastoon.bff.backoffice.sync.cursor_advanced.v1", # the stored cursor moved
  ]
}
