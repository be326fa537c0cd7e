# The heartbeat-sweeper function (scheduled). Kind, schedule and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_heartbeat_sweeper" {
  source   = "./modules/function"
  name     = "heartbeat-sweeper"
  spec     = local.functions["heartbeat-sweeper"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.device.heartbeat.lost.v1", # one per online→offline change
  ]
}
