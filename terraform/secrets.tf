# Every secret a function mounts (deploy.sh --set-secrets) and the owner URL
# deploy.sh's migration step uses. Ids are fixed: deploy.sh names them too.
locals {
  secret_ids = {
    app_database_url   = "bff-database-url-app"
    jobs_database_url  = "bff-database-url-jobs"
    owner_database_url = "bff-database-url-owner"
    redis_password     = "bff-redis-password"
    pii_hash_key       = "bff-pii-hash-key"
    redis_ca           = "bff-redis-ca"
    sql_ca             = "bff-sql-server-ca"
  }
  secret_values = {
    app_database_url   = local.database_urls["bff_app"]
    jobs_database_url  = local.database_urls["bff_jobs"]
    owner_database_url = local.database_urls["bff_owner"]
    redis_password     = google_redis_instance.bff.auth_string
    pii_hash_key       = random_password.pii_hash_key.result
    # Not secret, but functions get them the way they get the rest:
    # REDIS_TLS_CA (PEM in the environment) and a file at local.sql_ca_path.
    redis_ca = local.redis_server_ca_pem
    sql_ca   = local.sql_server_ca_pem
  }
}

# HMAC key of fingerprintHash/ipHash (PII_HASH_KEY, at least 32 bytes).
# Rotating it makes old hashes incomparable with new ones.
resource "random_password" "pii_hash_key" {
  length  = 64
  special = false
}

resource "google_secret_manager_secret" "bff" {
  for_each  = local.secret_ids
  secret_id = each.value
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "bff" {
  for_each    = local.secret_ids
  secret      = google_secret_manager_secret.bff[each.key].id
  secret_data = local.secret_values[each.key]
}

resource "google_secret_manager_secret_iam_member" "deployers_owner_url" {
  for_each  = toset(var.deployers)
  secret_id = google_secret_manager_secret.bff["owner_database_url"].id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}

# The deploying machine verifies Cloud SQL's certificate too (PGSSLROOTCERT).
resource "google_secret_manager_secret_iam_member" "deployers_sql_ca" {
  for_each  = toset(var.deployers)
  secret_id = google_secret_manager_secret.bff["sql_ca"].id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}
