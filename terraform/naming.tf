# Names deploy.sh derives on its own (it never reads terraform state): keep
# them in step with the constants at the top of deploy.sh. The manifest test
# (infra/manifest) reads these three locals and fails when they disagree.
locals {
  # Cloud Run functions name: "<function_prefix><manifest name>".
  function_prefix = "bff-"
  # Runtime service account id of each function (module "function").
  runtime_sa_prefix = "bff-fn-"
  # Invoker service account id of event and scheduled functions.
  invoker_sa_prefix = "bff-iv-"

  labels = {
    app         = "bff-backoffice"
    environment = var.environment
  }
}

data "google_project" "this" {
  project_id = var.project
}
