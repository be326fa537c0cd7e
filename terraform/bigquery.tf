# Audit lake of the OperatorActivity ledger (domain model §7): the
# export-activity function loads Postgres rows here exactly once, where they
# are kept 7 years; Postgres keeps 90 days. Columns in the domain model's
# names; operator_activity.schema.json is also what the exporter's Go schema
# is checked against (functions/export-activity/export).
resource "google_bigquery_dataset" "activity" {
  dataset_id                 = "melmastoon_audit"
  location                   = coalesce(var.bigquery_location, var.region)
  description                = "Operator activity of the back-office BFF, exported from Postgres (7-year retention)."
  delete_contents_on_destroy = false
  depends_on                 = [google_project_service.apis]
}

resource "google_bigquery_table" "operator_activity" {
  dataset_id          = google_bigquery_dataset.activity.dataset_id
  table_id            = "operator_activity"
  deletion_protection = true
  # Auditors ask per tenant first; the partition prunes by day.
  clustering = ["tenantId"]

  time_partitioning {
    type  = "DAY"
    field = "occurredAt"
    # 7 years of 365 days (export.Retention): a partition is dropped 2555
    # days after the day its rows occurred.
    expiration_ms = 2555 * 24 * 60 * 60 * 1000
  }

  schema = file("${path.module}/operator_activity.schema.json")
}
