# Idempotency records of replayed offline mutations, per (tenant, device,
# key), kept 7 days. The TTL policy deletes expired documents only
# eventually (up to a day late): the code checks expireAt itself.
resource "google_firestore_database" "default" {
  name                    = "(default)"
  location_id             = coalesce(var.firestore_location, var.region)
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"
  depends_on              = [google_project_service.apis]
}

resource "google_firestore_field" "idempotency_expire_at" {
  database   = google_firestore_database.default.name
  collection = var.idempotency_collection
  field      = "expireAt"

  ttl_config {}

  # No single-field indexes: nothing queries expireAt, and an index on an
  # ever-increasing timestamp is a write hotspot.
  index_config {}
}
