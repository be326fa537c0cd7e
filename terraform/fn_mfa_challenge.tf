# The mfa-challenge function (http). Kind, routes and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_mfa_challenge" {
  source   = "./modules/function"
  name     = "mfa-challenge"
  spec     = local.functions["mfa-challenge"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1", # gate, first request of a device
  ]
}
