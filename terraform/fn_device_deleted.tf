# The device-deleted function (event). Kind, trigger and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_device_deleted" {
  source   = "./modules/function"
  name     = "device-deleted"
  spec     = local.functions["device-deleted"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.closed.v1", # each session the deletion ends
  ]
}
