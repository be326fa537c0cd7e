# What every function module is given. A function's kind, trigger, schedule
# and needs come from functions/manifest.json, the one list of functions;
# the fn_<family>.tf files add only what the manifest does not say.
locals {
  manifest  = jsondecode(file("${path.module}/../functions/manifest.json"))
  functions = { for f in local.manifest.functions : f.name => f }

  platform = {
    # Through the API resource, so that nothing in a function module is
    # created before the APIs it needs are enabled.
    project             = google_project_service.apis["iam.googleapis.com"].project
    project_number      = data.google_project.this.number
    region              = var.region
    function_prefix     = local.function_prefix
    runtime_sa_prefix   = local.runtime_sa_prefix
    invoker_sa_prefix   = local.invoker_sa_prefix
    secrets             = { for k, s in google_secret_manager_secret.bff : k => s.secret_id }
    topics              = { for subject, t in google_pubsub_topic.emitted : subject => t.id }
    bigquery_dataset    = google_bigquery_dataset.activity.dataset_id
    deployers           = var.deployers
    scheduler_time_zone = "Etc/UTC"
  }
}

# deploy.sh creates the functions; deployers need these on top of the
# service-account grants each function module gives them.
resource "google_project_iam_member" "deployers" {
  for_each = {
    for pair in setproduct(var.deployers, [
      "roles/cloudfunctions.developer",
      # `--allow-unauthenticated` and add-invoker-policy-binding set IAM on
      # the function's Cloud Run service.
      "roles/run.admin",
    ]) : "${pair[0]} ${pair[1]}" => { member = pair[0], role = pair[1] }
  }
  project = var.project
  role    = each.value.role
  member  = each.value.member
}
