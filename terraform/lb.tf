# The public entry: an external Application Load Balancer routing each API
# path to the function that serves it, built from the routes in
# functions/manifest.json. HTTP functions accept traffic only from it
# (ingress internal-and-gclb, set by deploy.sh) and are deployed
# --allow-unauthenticated: their callers are desktop clients holding
# iam-service JWTs, not Google identities, so Cloud Run IAM cannot
# authenticate them — every function verifies the JWT itself.
#
# Not API Gateway: it swaps the caller's Authorization header for its own
# token and caps request time far below the 60-minute SSE stream.

locals {
  http_functions = { for name, f in local.functions : name => f if f.kind == "http" }

  lb_paths = distinct(flatten([
    for name, f in local.http_functions : [
      for r in f.routes : { function = name, path = split(" ", r)[1] }
    ]
  ]))
  # Literal paths before templated ones, so that a literal segment is never
  # taken for a parameter of another route.
  lb_routes = concat(
    [for p in local.lb_paths : p if !strcontains(p.path, "{")],
    [for p in local.lb_paths : p if strcontains(p.path, "{")],
  )
  # Unknown paths (and /health) go to one of the functions, which answers
  # them with a problem+json 404 (or its health) like any other.
  lb_default_function = sort(keys(local.http_functions))[0]
}

resource "google_compute_region_network_endpoint_group" "fn" {
  for_each              = local.http_functions
  name                  = "bff-neg-${each.key}"
  region                = var.region
  network_endpoint_type = "SERVERLESS"
  cloud_run {
    # A gen2 function is a Cloud Run service of the same name.
    service = "${local.function_prefix}${each.key}"
  }
  depends_on = [google_project_service.apis]
}

resource "google_compute_backend_service" "fn" {
  for_each              = local.http_functions
  name                  = "bff-be-${each.key}"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  # Not HTTP2: SSE must not run end-to-end HTTP/2 on Cloud Run.
  protocol = "HTTP"
  # Cloud Armor in front of every function: ours unless one is given.
  security_policy = var.lb_security_policy != null ? var.lb_security_policy : google_compute_security_policy.api[0].id
  backend {
    group = google_compute_region_network_endpoint_group.fn[each.key].id
  }
  log_config {
    enable      = true
    sample_rate = 1
  }
}

# Per-client-IP throttling at the edge, before a request reaches (and is
# billed to) a function: a flood from one address gets 429s from Cloud
# Armor while everyone else is served. The BFF's own limits (per device and
# tenant, in Redis) stay the fine-grained ones; this bounds what an
# unauthenticated caller can make the functions do. Thresholds are per
# address, and a hotel's desks usually share one NAT address: size
# lb_rate_limit_per_ip_per_minute for the busiest property, not one desk.
resource "google_compute_security_policy" "api" {
  count       = var.lb_security_policy == null ? 1 : 0
  name        = "bff-backoffice-api"
  description = "bff-backoffice API: per-IP rate limit, then allow."
  type        = "CLOUD_ARMOR"

  rule {
    priority    = 1000
    description = "Per client IP: over the threshold, 429 until the interval ends."
    action      = "throttle"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      enforce_on_key = "IP"
      conform_action = "allow"
      exceed_action  = "deny(429)"
      rate_limit_threshold {
        count        = var.lb_rate_limit_per_ip_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    priority    = 2147483647
    description = "Default: allow (authentication is each function's)."
    action      = "allow"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}

resource "google_compute_url_map" "api" {
  name            = "bff-backoffice-api"
  default_service = google_compute_backend_service.fn[local.lb_default_function].id

  host_rule {
    hosts        = var.api_domains
    path_matcher = "api"
  }

  path_matcher {
    name            = "api"
    default_service = google_compute_backend_service.fn[local.lb_default_function].id

    dynamic "route_rules" {
      for_each = local.lb_routes
      content {
        priority = route_rules.key + 1
        service  = google_compute_backend_service.fn[route_rules.value.function].id
        match_rules {
          full_path_match = strcontains(route_rules.value.path, "{") ? null : route_rules.value.path
          # {aimId} → *: one path segment.
          path_template_match = strcontains(route_rules.value.path, "{") ? replace(route_rules.value.path, "/\\{[^}/]+\\}/", "*") : null
        }
      }
    }
  }
}

resource "google_compute_global_address" "api" {
  name       = "bff-backoffice-api"
  depends_on = [google_project_service.apis]
}

resource "google_compute_managed_ssl_certificate" "api" {
  name = "bff-backoffice-api"
  managed {
    domains = var.api_domains
  }
  lifecycle {
    # A new certificate must exist before the proxy lets go of the old one.
    create_before_destroy = true
  }
}

resource "google_compute_target_https_proxy" "api" {
  name             = "bff-backoffice-api"
  url_map          = google_compute_url_map.api.id
  ssl_certificates = [google_compute_managed_ssl_certificate.api.id]
}

resource "google_compute_global_forwarding_rule" "https" {
  name                  = "bff-backoffice-api-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.api.address
  port_range            = "443"
  target                = google_compute_target_https_proxy.api.id
}

# Port 80 only redirects.
resource "google_compute_url_map" "http_redirect" {
  name = "bff-backoffice-api-redirect"
  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  name    = "bff-backoffice-api-redirect"
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  name                  = "bff-backoffice-api-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.api.address
  port_range            = "80"
  target                = google_compute_target_http_proxy.redirect.id
}
