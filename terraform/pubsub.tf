# One topic per subject; the topic id is the subject (SPEC §6). The lists
# match shared/events (Emitted, Consumed); the manifest test checks it.
locals {
  # Telemetry this service publishes: domain model §14 plus heartbeat loss.
  emitted_subjects = [
    "melmastoon.bff.backoffice.session.opened.v1",
    "melmastoon.bff.backoffice.session.closed.v1",
    "melmastoon.bff.backoffice.dashboard.viewed.v1",
    "melmastoon.bff.backoffice.workbench.opened.v1",
    "melmastoon.bff.backoffice.ai_suggestion.decided.v1",
    "melmastoon.bff.backoffice.alert.acknowledged.v1",
    "melmastoon.bff.backoffice.operator.activity.v1",
    "melmastoon.bff.backoffice.device.heartbeat.v1",
    "melmastoon.bff.backoffice.device.heartbeat.lost.v1",
    "melmastoon.bff.backoffice.sync.cursor_advanced.v1",
    "melmastoon.bff.backoffice.sync.handshake_completed.v1",
    "melmastoon.bff.backoffice.lock.action_proxied.v1",
  ]

  # Events of other services this service consumes (event functions'
  # triggers). Their owners publish into these topics (external_publishers).
  consumed_subjects = [
    "melmastoon.iam.session.revoked.v1",
    "melmastoon.iam.device.deleted.v1",
    "melmastoon.ai.suggestion.created.v1",
    "melmastoon.ai.suggestion.invalidated.v1",
    "melmastoon.notification.alert.raised.v1",
    "melmastoon.notification.alert.resolved.v1",
    "melmastoon.tenant.bootstrap.version_changed.v1",
    "melmastoon.reservation.changed.v1",
    "melmastoon.housekeeping.changed.v1",
    "melmastoon.maintenance.changed.v1",
  ]
}

resource "google_pubsub_topic" "emitted" {
  for_each   = toset(local.emitted_subjects)
  name       = each.value
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "consumed" {
  for_each = toset(local.consumed_subjects)
  name     = each.value
  # A subscription created later (a redeployed trigger) can seek back over
  # a day of events instead of missing them.
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.apis]
}

locals {
  external_publishers = merge([
    for subject, members in var.external_publishers : {
      for m in members : "${subject} ${m}" => { subject = subject, member = m }
    }
  ]...)
}

resource "google_pubsub_topic_iam_member" "external_publishers" {
  for_each = local.external_publishers
  # Indexing fails at plan time for a subject that is not consumed here.
  topic  = google_pubsub_topic.consumed[each.value.subject].id
  role   = "roles/pubsub.publisher"
  member = each.value.member
}
