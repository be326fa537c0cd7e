# One deployed function's identities and grants. The function resource itself
# is deployed by deploy.sh (`gcloud functions deploy`), which runs it as the
# runtime account created here and, for event functions, gives its Eventarc
# trigger the invoker account created here. Everything a function may touch
# follows from its `needs` in functions/manifest.json:
#
#   postgres       DATABASE_URL + PII_HASH_KEY secrets, Cloud SQL's server CA
#                  (a file the URL's sslrootcert names), cloudsql.client
#   jobs-postgres  JOBS_DATABASE_URL secret, the server CA file, cloudsql.client
#   redis          REDIS_PASSWORD and REDIS_TLS_CA (Memorystore's server CA)
#                  secrets (the network path is the VPC connector)
#   pubsub         pubsub.publisher on the topics in var.publishes
#   firestore      datastore.user
#   bigquery       bigquery.dataEditor on the activity dataset, bigquery.jobUser
#   bigquery-read  bigquery.dataViewer on the activity dataset, bigquery.jobUser
#                  (a query is a job in the project; the data grant is read-only)
#   iam, tenant, upstreams
#                  nothing in GCP: plain HTTPS to other services
#
# Every HTTP function also gets PII_HASH_KEY: the request gate hashes IPs and
# user agents for the session and the ledger.

locals {
  kind    = var.spec.kind
  needs   = toset(try(var.spec.needs, []))
  service = "${var.platform.function_prefix}${var.name}"
  # Cloud Run's deterministic URL: known before deploy.sh creates the service.
  service_url = "https://${local.service}-${var.platform.project_number}.${var.platform.region}.run.app"

  uses_postgres = contains(local.needs, "postgres") || contains(local.needs, "jobs-postgres")

  secrets = toset(concat(
    contains(local.needs, "postgres") ? [var.platform.secrets["app_database_url"]] : [],
    contains(local.needs, "postgres") || local.kind == "http" ? [var.platform.secrets["pii_hash_key"]] : [],
    contains(local.needs, "jobs-postgres") ? [var.platform.secrets["jobs_database_url"]] : [],
    local.uses_postgres ? [var.platform.secrets["sql_ca"]] : [],
    contains(local.needs, "redis") ? [var.platform.secrets["redis_password"], var.platform.secrets["redis_ca"]] : [],
  ))

  project_roles = toset(concat(
    # Connections go over private IP with a password; cloudsql.client lets
    # the function use the Cloud SQL connector (instance identity checked)
    # without a change here.
    local.uses_postgres ? ["roles/cloudsql.client"] : [],
    contains(local.needs, "firestore") ? ["roles/datastore.user"] : [],
    # Load jobs are project resources; data access is the dataset grant.
    contains(local.needs, "bigquery") || contains(local.needs, "bigquery-read") ? ["roles/bigquery.jobUser"] : [],
  ))

  publishes = toset(var.publishes)

  # Event functions are invoked by their Eventarc trigger, scheduled ones by
  # Cloud Scheduler; both as this function's own invoker account.
  has_invoker = contains(["event", "scheduled"], local.kind)

  timeout_seconds = try(var.spec.deploy.timeoutSeconds, 60)
}

resource "google_service_account" "runtime" {
  project      = var.platform.project
  account_id   = "${var.platform.runtime_sa_prefix}${var.name}"
  display_name = "bff-backoffice ${var.name} (runtime)"
  description  = "Runs the ${var.name} function; granted only what its needs in functions/manifest.json imply."

  lifecycle {
    precondition {
      condition     = try(var.spec.name, "") == var.name
      error_message = "spec must be functions/manifest.json's entry for ${var.name}."
    }
    precondition {
      condition     = contains(local.needs, "pubsub") == (length(var.publishes) > 0)
      error_message = "${var.name}: list the subjects it publishes exactly when functions/manifest.json says it needs pubsub."
    }
    precondition {
      condition     = alltrue([for s in var.publishes : contains(keys(var.platform.topics), s)])
      error_message = "${var.name}: publishes names a subject that is not an emitted topic (pubsub.tf)."
    }
  }
}

resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each  = local.secrets
  project   = var.platform.project
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "runtime" {
  for_each = local.project_roles
  project  = var.platform.project
  role     = each.value
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_pubsub_topic_iam_member" "runtime" {
  for_each = local.publishes
  project  = var.platform.project
  topic    = var.platform.topics[each.value]
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_bigquery_dataset_iam_member" "runtime" {
  count      = contains(local.needs, "bigquery") ? 1 : 0
  project    = var.platform.project
  dataset_id = var.platform.bigquery_dataset
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_bigquery_dataset_iam_member" "runtime_read" {
  count      = contains(local.needs, "bigquery-read") ? 1 : 0
  project    = var.platform.project
  dataset_id = var.platform.bigquery_dataset
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_service_account" "invoker" {
  count        = local.has_invoker ? 1 : 0
  project      = var.platform.project
  account_id   = "${var.platform.invoker_sa_prefix}${var.name}"
  display_name = "bff-backoffice ${var.name} (invoker)"
  description  = "Identity the ${local.kind == "event" ? "Eventarc trigger" : "Cloud Scheduler job"} of ${var.name} calls it with; run.invoker on that function only (granted by deploy.sh)."
}

# Pub/Sub signs the push requests of the trigger's subscription as the
# invoker account. Projects created after April 2021 grant this by default.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  count              = local.kind == "event" ? 1 : 0
  service_account_id = google_service_account.invoker[0].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${var.platform.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# Deploying a function as an account (runtime, trigger) needs actAs on it.
resource "google_service_account_iam_member" "deployers_runtime" {
  for_each           = toset(var.platform.deployers)
  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

resource "google_service_account_iam_member" "deployers_invoker" {
  for_each           = local.kind == "event" ? toset(var.platform.deployers) : toset([])
  service_account_id = google_service_account.invoker[0].name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

resource "google_cloud_scheduler_job" "this" {
  count       = local.kind == "scheduled" ? 1 : 0
  project     = var.platform.project
  region      = var.platform.region
  name        = local.service
  description = "Runs ${var.name} (functions/manifest.json)."
  schedule    = var.spec.schedule
  time_zone   = var.platform.scheduler_time_zone
  # Cloud Scheduler waits at most 30 minutes for an HTTP target.
  attempt_deadline = "${max(15, min(1800, local.timeout_seconds))}s"

  # The jobs are idempotent under retries and overlaps (SPEC §7).
  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "600s"
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = local.service_url
    oidc_token {
      service_account_email = google_service_account.invoker[0].email
      audience              = local.service_url
    }
  }
}
