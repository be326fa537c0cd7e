# Postgres 15 with row-level security holds the ledgers. Three login roles:
#   bff_owner  owns the schema; deploy.sh runs the migrations as it
#   bff_app    the functions' role (DATABASE_URL)
#   bff_jobs   the scheduled cross-tenant jobs' role (JOBS_DATABASE_URL)
#
# Cloud SQL makes every user created through its API a member of
# cloudsqlsuperuser with CREATEROLE and CREATEDB. On PostgreSQL 15 CREATEROLE
# lets a role grant itself membership in any non-superuser role — bff_owner
# included — so the migration's role step (shared/schema/roles.sql, run as
# bff_owner, which keeps CREATEROLE) must strip both from bff_app and
# bff_jobs: see terraform/README.md.

resource "google_sql_database_instance" "bff" {
  name                = "bff-backoffice"
  region              = var.region
  database_version    = "POSTGRES_15"
  deletion_protection = true

  settings {
    tier                        = var.sql_tier
    edition                     = "ENTERPRISE"
    availability_type           = var.sql_availability_type
    disk_type                   = "PD_SSD"
    disk_size                   = var.sql_disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = true
    user_labels                 = local.labels

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.bff.id
      # TLS is required; client certificates are not (see
      # terraform/README.md): the password over a verified TLS session
      # authenticates the client, verify-full the server.
      ssl_mode = "ENCRYPTED_ONLY"
      # A CAS-based CA puts the instance's DNS name (dns_name) in the
      # server certificate, which is what verify-full checks. The default
      # per-instance CA issues a certificate naming no host at all, so
      # only verify-ca could pass with it.
      server_ca_mode = "GOOGLE_MANAGED_CAS_CA"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "02:00"
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = 14
      }
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled = true
    }
  }

  depends_on = [google_service_networking_connection.private_services]

  lifecycle {
    postcondition {
      condition     = self.dns_name != ""
      error_message = "The instance has no dns_name: the database URLs need it as host for sslmode=verify-full (server_ca_mode GOOGLE_MANAGED_CAS_CA)."
    }
  }
}

# Every CA the instance trusts now or will rotate to, so that a server
# certificate rotation does not break verification. A rotation reaches the
# functions with the next `terraform apply` and deploy.
data "google_sql_ca_certs" "bff" {
  instance = google_sql_database_instance.bff.name
}

# The DNS name the server certificate carries, resolving to the private IP
# inside the VPC: verify-full compares the host of the URL with the
# certificate, so the URL must name the instance by it.
resource "google_dns_managed_zone" "sql" {
  name        = "bff-sql"
  dns_name    = "${local.sql_host}."
  description = "Cloud SQL bff-backoffice: its certificate's DNS name, for sslmode=verify-full."
  visibility  = "private"
  private_visibility_config {
    networks {
      network_url = google_compute_network.bff.id
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_dns_record_set" "sql" {
  managed_zone = google_dns_managed_zone.sql.name
  name         = google_dns_managed_zone.sql.dns_name
  type         = "A"
  ttl          = 300
  rrdatas      = [google_sql_database_instance.bff.private_ip_address]
}

resource "google_sql_database" "bff" {
  name     = "bff"
  instance = google_sql_database_instance.bff.name
}

locals {
  sql_roles = toset(["bff_owner", "bff_app", "bff_jobs"])
}

resource "random_password" "sql" {
  for_each = local.sql_roles
  length   = 40
  # Alphanumeric only: the passwords go into postgres:// URLs unescaped.
  special = false
}

resource "google_sql_user" "bff" {
  for_each = local.sql_roles
  instance = google_sql_database_instance.bff.name
  name     = each.value
  password = random_password.sql[each.value].result
  # bff_owner owns the schema; dropping the role would fail or orphan it.
  deletion_policy = "ABANDON"
}

locals {
  sql_host          = trimsuffix(google_sql_database_instance.bff.dns_name, ".")
  sql_server_ca_pem = join("\n", [for c in data.google_sql_ca_certs.bff.certs : c.cert])
  # Where deploy.sh mounts the bff-sql-server-ca secret in every function
  # that uses Postgres (its SQL_CA_PATH); the URLs below point there.
  sql_ca_path = "/etc/secrets/bff-sql-ca/server-ca.pem"

  # sslmode=verify-full: the certificate must chain to the instance's CA
  # and name local.sql_host, so a host that answers on the private IP
  # without the instance's key gets no password. The functions' URLs carry
  # the CA file (sslrootcert); bff_owner's is used from the deploying
  # machine, which names its copy of the CA in PGSSLROOTCERT (README).
  database_urls = {
    for role in local.sql_roles : role => format(
      "postgres://%s:%s@%s:5432/%s?sslmode=verify-full%s",
      role, random_password.sql[role].result, local.sql_host, google_sql_database.bff.name,
      role == "bff_owner" ? "" : "&sslrootcert=${local.sql_ca_path}",
    )
  }
}
