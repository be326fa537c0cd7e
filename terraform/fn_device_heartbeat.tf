# The device-heartbeat function (http). Kind, routes and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_device_heartbeat" {
  source   = "./modules/function"
  name     = "device-heartbeat"
  spec     = local.functions["device-heartbeat"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.device.heartbeat.v1", # sampled heartbeats
  ]
}
