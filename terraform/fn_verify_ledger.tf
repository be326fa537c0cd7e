# verify-ledger: Cloud Scheduler → HTTP (OIDC, its invoker account) daily at
# 04:37 UTC, after retention; as bff_jobs it recomputes each tenant's
# activity hash chain over Postgres (functions/verify-ledger) and logs every
# break at ERROR. Read-only; publishes nothing.

module "fn_verify_ledger" {
  source    = "./modules/function"
  name      = "verify-ledger"
  spec      = local.functions["verify-ledger"]
  platform  = local.platform
  publishes = []
}
