# export-activity: Cloud Scheduler → HTTP (OIDC, its invoker account) every
# 10 minutes; as bff_jobs it copies the activity ledger to BigQuery exactly
# once (functions/export-activity). Its needs give it JOBS_DATABASE_URL,
# cloudsql.client, bigquery.jobUser on the project (load jobs are project
# resources) and bigquery.dataEditor on the audit dataset only
# (bigquery.tf): it can append to the audit table, read nothing else.
# It publishes nothing.

module "fn_export_activity" {
  source    = "./modules/function"
  name      = "export-activity"
  spec      = local.functions["export-activity"]
  platform  = local.platform
  publishes = []
}
