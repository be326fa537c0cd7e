# retention: Cloud Scheduler → HTTP (OIDC, its invoker account) daily at
# 03:17 UTC; as bff_jobs it deletes activity rows past 90 days that
# export-activity has put in BigQuery (functions/retention). The database's
# policy (migration 0007) is the guard, not this function. Publishes
# nothing.

module "fn_retention" {
  source    = "./modules/function"
  name      = "retention"
  spec      = local.functions["retention"]
  platform  = local.platform
  publishes = []
}
