# Sessions, TTL caches, single-flight leases and the per-device SSE streams.
resource "google_redis_instance" "bff" {
  name               = "bff-backoffice"
  region             = var.region
  tier               = var.redis_tier
  memory_size_gb     = var.redis_memory_size_gb
  redis_version      = "REDIS_7_2"
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  authorized_network = google_compute_network.bff.id
  reserved_ip_range  = google_compute_global_address.private_services.name
  auth_enabled       = true
  # TLS on port 6378 with a certificate of the instance's own CA; the AUTH
  # string would otherwise cross the VPC in the clear. Functions trust
  # exactly that CA (REDIS_TLS_CA, secret bff-redis-ca below). Memorystore
  # sets this only at creation: changing it replaces the instance.
  transit_encryption_mode = "SERVER_AUTHENTICATION"

  depends_on = [google_service_networking_connection.private_services]
}

locals {
  # Every CA the instance lists, the next one included while Memorystore
  # rotates: a client trusting all of them survives the switch. A rotation
  # reaches the functions with the next `terraform apply` and deploy.
  redis_server_ca_pem = join("\n", [for c in google_redis_instance.bff.server_ca_certs : c.cert])
}
