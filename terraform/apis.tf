resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com", # gen2 builds store images here
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com", # data.google_project
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "dns.googleapis.com", # the private zone of Cloud SQL's DNS name
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "pubsub.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "vpcaccess.googleapis.com",
  ])
  project = var.project
  service = each.value
  # Other workloads in the project may use the same APIs.
  disable_on_destroy = false
}
