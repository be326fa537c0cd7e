# The device-hints function (http). Kind, routes and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_device_hints" {
  source   = "./modules/function"
  name     = "device-hints"
  spec     = local.functions["device-hints"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  ]
}
