# Audit lake of the OperatorActivity ledger (domain model §7): the
# export-activity function loads Postgres rows here, where they are kept 7
# years; Postgres keeps 90 days. The columns mirror bff.operator_activity
# (shared/schema/migrations) minus the exporter's bookkeeping.
resource "google_bigquery_dataset" "activity" {
  dataset_id                 = "bff_backoffice_activity"
  location                   = coalesce(var.bigquery_location, var.region)
  description                = "Operator activity of the back-office BFF, exported from Postgres (7-year retention)."
  delete_contents_on_destroy = false
  depends_on                 = [google_project_service.apis]
}

resource "google_bigquery_table" "operator_activity" {
  dataset_id          = google_bigquery_dataset.activity.dataset_id
  table_id            = "operator_activity"
  deletion_protection = true
  clustering          = ["tenant_id", "operator_id"]

  time_partitioning {
    type  = "DAY"
    field = "occurred_at"
    # 7 years of 365.25 days, rounded up to whole days: a partition is
    # dropped 2557 days after the day its rows occurred.
    expiration_ms = 2557 * 24 * 60 * 60 * 1000
  }

  schema = jsonencode([
    { name = "id", type = "STRING", mode = "REQUIRED" },
    { name = "tenant_id", type = "STRING", mode = "REQUIRED" },
    { name = "property_id", type = "STRING", mode = "NULLABLE" },
    { name = "operator_id", type = "STRING", mode = "REQUIRED" },
    { name = "device_id", type = "STRING", mode = "REQUIRED" },
    { name = "session_id", type = "STRING", mode = "NULLABLE" },
    { name = "occurred_at", type = "TIMESTAMP", mode = "REQUIRED" },
    { name = "category", type = "STRING", mode = "REQUIRED" },
    { name = "action", type = "STRING", mode = "REQUIRED" },
    { name = "resource_kind", type = "STRING", mode = "NULLABLE" },
    { name = "resource_id", type = "STRING", mode = "NULLABLE" },
    { name = "outcome", type = "STRING", mode = "REQUIRED" },
    { name = "latency_ms", type = "INT64", mode = "REQUIRED" },
    { name = "error_code", type = "STRING", mode = "NULLABLE" },
    { name = "error_message", type = "STRING", mode = "NULLABLE" },
    { name = "context_hash", type = "STRING", mode = "NULLABLE" },
    { name = "request_id", type = "STRING", mode = "REQUIRED" },
  ])
}
