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
  # shared/redisx speaks plain TCP; enabling SERVER_AUTHENTICATION needs TLS
  # there first (with this instance's server_ca_certs).
  transit_encryption_mode = "DISABLED"

  depends_on = [google_service_networking_connection.private_services]
}
