variable "project" {
  description = "GCP project id. One project per environment: names below do not repeat the environment."
  type        = string
}

variable "region" {
  description = "Region of the functions, Cloud SQL, Redis, the VPC connector and Cloud Scheduler."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, staging, prod, …); used as a label."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.environment))
    error_message = "environment must be a lower-case label value, e.g. prod."
  }
}

variable "api_domains" {
  description = "Host names of the public API (the external Application Load Balancer and its managed certificate)."
  type        = list(string)
  validation {
    condition     = length(var.api_domains) > 0
    error_message = "HTTP functions only admit the load balancer (ingress internal-and-gclb): name at least one domain."
  }
}

variable "lb_security_policy" {
  description = "Cloud Armor security policy (id or self link) for the API backends instead of the one lb.tf creates (per-IP rate limit); it should limit per IP too."
  type        = string
  default     = null
}

variable "lb_rate_limit_per_ip_per_minute" {
  description = "Requests a minute one client IP may send to the API before Cloud Armor answers 429 (lb.tf). Desks behind one NAT share it."
  type        = number
  default     = 600
  validation {
    # Cloud Armor's bounds on a rate limit threshold's count.
    condition     = var.lb_rate_limit_per_ip_per_minute >= 1 && var.lb_rate_limit_per_ip_per_minute <= 10000 && floor(var.lb_rate_limit_per_ip_per_minute) == var.lb_rate_limit_per_ip_per_minute
    error_message = "lb_rate_limit_per_ip_per_minute must be a whole number from 1 to 10000."
  }
}

variable "deployers" {
  description = "Principals that run deploy.sh (e.g. serviceAccount:ci@…): they may deploy functions as the function service accounts and read the owner database URL for migrations."
  type        = list(string)
  default     = []
}

variable "firestore_location" {
  description = "Firestore location; defaults to var.region. Cannot change after creation."
  type        = string
  default     = null
}

variable "bigquery_location" {
  description = "Location of the activity export dataset; defaults to var.region."
  type        = string
  default     = null
}

variable "sql_tier" {
  description = "Cloud SQL machine tier."
  type        = string
  default     = "db-custom-2-7680"
}

variable "sql_availability_type" {
  description = "REGIONAL (HA, for production) or ZONAL."
  type        = string
  default     = "REGIONAL"
  validation {
    condition     = contains(["REGIONAL", "ZONAL"], var.sql_availability_type)
    error_message = "sql_availability_type must be REGIONAL or ZONAL."
  }
}

variable "sql_disk_size_gb" {
  description = "Initial Cloud SQL disk size; it grows automatically."
  type        = number
  default     = 20
}

variable "redis_tier" {
  description = "Memorystore tier: STANDARD_HA (replicated, for production) or BASIC."
  type        = string
  default     = "STANDARD_HA"
}

variable "redis_memory_size_gb" {
  description = "Memorystore capacity. Sessions, caches, single-flight leases and device streams share it."
  type        = number
  default     = 1
}

variable "vpc_connector_cidr" {
  description = "Unused /28 of the VPC for the Serverless VPC Access connector."
  type        = string
  default     = "10.8.0.0/28"
}

variable "idempotency_collection" {
  description = "Firestore collection group of the idempotency records; its expireAt field gets the TTL policy."
  type        = string
  default     = "idempotency"
}

variable "iam_jwks_url" {
  description = "iam-service JWKS URL (IAM_JWKS_URL); https only."
  type        = string
  validation {
    # Whoever can alter a plain-http JWKS response can forge any token. The
    # functions refuse http too, except for a loopback host (the local
    # stack), which no deployed environment has.
    condition     = can(regex("^https://[^/?#@\\s]+(/[^\\s]*)?$", var.iam_jwks_url))
    error_message = "iam_jwks_url must be an https:// URL."
  }
}

variable "iam_issuer" {
  description = "iam-service token issuer (IAM_ISSUER)."
  type        = string
}

variable "jwt_audience" {
  description = "Audience of the desktop's tokens (JWT_AUDIENCE)."
  type        = string
  default     = "melmastoon-bff-backoffice"
}

variable "tenant_service_url" {
  description = "tenant-service base URL (TENANT_SERVICE_URL)."
  type        = string
}

variable "upstream_urls" {
  description = "Environment of functions that need \"upstreams\": variable name => base URL, e.g. { RESERVATION_SERVICE_URL = \"https://…\" }."
  type        = map(string)
  default     = {}
  validation {
    condition = alltrue([
      for k, v in var.upstream_urls : can(regex("^[A-Z][A-Z0-9_]*$", k)) && !can(regex("[,' ]", v))
    ])
    error_message = "upstream_urls: keys must be environment variable names, values URLs without commas, quotes or blanks."
  }
}

variable "external_publishers" {
  description = "Consumed subject => principals (other services' accounts) allowed to publish to its topic in this project."
  type        = map(list(string))
  default     = {}
}
