# Cloud SQL and Memorystore have private IPs only, reached through private
# service access; functions reach them through a Serverless VPC Access
# connector. (Direct VPC egress is not offered by `gcloud functions deploy`,
# which is how deploy.sh deploys.)

resource "google_compute_network" "bff" {
  name                    = "bff-backoffice"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.apis]
}

resource "google_compute_global_address" "private_services" {
  name          = "bff-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.bff.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.bff.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}

resource "google_vpc_access_connector" "bff" {
  name          = "bff-connector"
  region        = var.region
  network       = google_compute_network.bff.name
  ip_cidr_range = var.vpc_connector_cidr
  machine_type  = "e2-micro"
  min_instances = 2
  max_instances = 10
  depends_on    = [google_project_service.apis]
}
