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
      ssl_mode        = "ENCRYPTED_ONLY"
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
  # sslmode=require: the instance accepts only encrypted connections; the
  # private network and the password authenticate the server side.
  database_urls = {
    for role in local.sql_roles : role => format(
      "postgres://%s:%s@%s:5432/%s?sslmode=require",
      role, random_password.sql[role].result,
      google_sql_database_instance.bff.private_ip_address, google_sql_database.bff.name,
    )
  }
}
