output "runtime_service_account" {
  description = "Email of the account the function runs as (deploy.sh --service-account)."
  value       = google_service_account.runtime.email
}

output "invoker_service_account" {
  description = "Email of the account its trigger or scheduler job invokes it as; null for HTTP functions."
  value       = local.has_invoker ? google_service_account.invoker[0].email : null
}

output "service" {
  description = "Cloud Run functions name (and Cloud Run service name)."
  value       = local.service
}

output "url" {
  description = "Deterministic Cloud Run URL of the function."
  value       = local.service_url
}
