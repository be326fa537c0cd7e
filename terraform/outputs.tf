output "deploy_env" {
  description = "Environment of deploy.sh: eval \"$(terraform -chdir=terraform output -raw deploy_env)\"."
  value       = <<-EOT
    export BFF_REDIS_ADDR='${google_redis_instance.bff.host}:${google_redis_instance.bff.port}'
    export BFF_VPC_CONNECTOR='${google_vpc_access_connector.bff.name}'
    export BFF_IAM_JWKS_URL='${var.iam_jwks_url}'
    export BFF_IAM_ISSUER='${var.iam_issuer}'
    export BFF_JWT_AUDIENCE='${var.jwt_audience}'
    export BFF_TENANT_SERVICE_URL='${var.tenant_service_url}'
    export BFF_BIGQUERY_LOCATION='${google_bigquery_dataset.activity.location}'
    export BFF_UPSTREAM_ENV='${join(",", [for k, v in var.upstream_urls : "${k}=${v}"])}'
  EOT
}

output "api_ip_address" {
  description = "Point the api_domains' DNS A records here; the managed certificate provisions once they resolve."
  value       = google_compute_global_address.api.address
}

output "sql_instance_connection_name" {
  description = "For cloud-sql-proxy --private-ip when running migrations from outside the VPC."
  value       = google_sql_database_instance.bff.connection_name
}

output "owner_database_url_secret" {
  description = "Secret holding bff_owner's URL (OWNER_DATABASE_URL of deploy.sh)."
  value       = google_secret_manager_secret.bff["owner_database_url"].secret_id
}
