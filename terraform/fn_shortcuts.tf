# The shortcuts function (http). Kind, routes and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_shortcuts" {
  source   = "./modules/function"
  name     = "shortcuts"
  spec     = local.functions["shortcuts"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  ]
}
