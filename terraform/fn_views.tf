# The composition family: GET /v1/dashboard and the six workbench views, and
# the consumers that invalidate their caches. Kind, trigger and needs come
# from functions/manifest.json; `publishes` lists the telemetry subjects the
# function's code emits (it gets pubsub.publisher on exactly those topics).

module "fn_dashboard" {
  source   = "./modules/function"
  name     = "dashboard"
  spec     = local.functions["dashboard"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.dashboard.viewed.v1", # sampled (VIEW_EVENT_SAMPLE_RATE)
  ]
}

module "fn_today" {
  source   = "./modules/function"
  name     = "today"
  spec     = local.functions["today"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.workbench.opened.v1", # sampled (VIEW_EVENT_SAMPLE_RATE)
  ]
}

module "fn_arrivals" {
  source   = "./modules/function"
  name     = "arrivals"
  spec     = local.functions["arrivals"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.workbench.opened.v1", # sampled (VIEW_EVENT_SAMPLE_RATE)
  ]
}

module "fn_departures" {
  source   = "./modules/function"
  name     = "departures"
  spec     = local.functions["departures"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.workbench.opened.v1", # sampled (VIEW_EVENT_SAMPLE_RATE)
  ]
}

module "fn_in_house" {
  source   = "./modules/function"
  name     = "in-house"
  spec     = local.functions["in-house"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.workbench.opened.v1", # sampled (VIEW_EVENT_SAMPLE_RATE)
  ]
}

module "fn_housekeeping_board" {
  source   = "./modules/function"
  name     = "housekeeping-board"
  spec     = local.functions["housekeeping-board"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.workbench.opened.v1", # sampled (VIEW_EVENT_SAMPLE_RATE)
  ]
}

module "fn_maintenance_board" {
  source   = "./modules/function"
  name     = "maintenance-board"
  spec     = local.functions["maintenance-board"]
  platform = local.platform
  publishes = [
    "melmastoon.bff.backoffice.session.opened.v1",   # gate, first request of a device
    "melmastoon.bff.backoffice.workbench.opened.v1", # sampled (VIEW_EVENT_SAMPLE_RATE)
  ]
}

module "fn_bootstrap_changed" {
  source    = "./modules/function"
  name      = "bootstrap-changed"
  spec      = local.functions["bootstrap-changed"]
  platform  = local.platform
  publishes = []
}

module "fn_reservation_changed" {
  source    = "./modules/function"
  name      = "reservation-changed"
  spec      = local.functions["reservation-changed"]
  platform  = local.platform
  publishes = []
}

module "fn_housekeeping_changed" {
  source    = "./modules/function"
  name      = "housekeeping-changed"
  spec      = local.functions["housekeeping-changed"]
  platform  = local.platform
  publishes = []
}

module "fn_maintenance_changed" {
  source    = "./modules/function"
  name      = "maintenance-changed"
  spec      = local.functions["maintenance-changed"]
  platform  = local.platform
  publishes = []
}
