# verify-ledger: Cloud Scheduler → HTTP (OIDC, its invoker account) daily at
# 04:37 UTC, after retention; as bff_jobs it recomputes each tenant's
# activity hash chain over Postgres and over the rows exported to BigQuery
# (functions/verify-ledger) and logs every break at ERROR. Read-only: need
# bigquery-read is bigquery.dataViewer on the audit dataset plus
# bigquery.jobUser (its query runs as a job); publishes nothing.

module "fn_verify_ledger" {
  source    = "./modules/function"
  name      = "verify-ledger"
  spec      = local.functions["verify-ledger"]
  platform  = local.platform
  publishes = []
}
