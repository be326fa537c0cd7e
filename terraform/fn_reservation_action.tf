# The reservation-action function (http). Kind, routes and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_reservation_action" {
  source   = "./modules/function"
  name     = "reservation-action"
  spec     = local.functions["reservation-action"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  ]
}
