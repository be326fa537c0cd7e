# The lock-reconcile function (scheduled). Kind, schedule and needs come from
# functions/manifest.json; `publishes` lists the subjects its code emits (it gets
# pubsub.publisher on exactly those topics).

module "fn_lock_reconcile" {
  source    = "./modules/function"
  name      = "lock-reconcile"
  spec      = local.functions["lock-reconcile"]
  platform  = local.platform
  publishes = []
}
