variable "name" {
  description = "The function's name in functions/manifest.json."
  type        = string
  validation {
    # Longer names overflow the 30-character service account ids.
    condition     = can(regex("^[a-z][a-z0-9-]{0,21}[a-z0-9]$", var.name))
    error_message = "name must be a manifest function name (lower-case, digits, hyphens, at most 23 characters)."
  }
}

variable "spec" {
  description = "The function's entry of functions/manifest.json (kind, needs, trigger, schedule, deploy)."
  type        = any
}

variable "publishes" {
  description = "Telemetry subjects the function publishes (needs \"pubsub\"); it may publish to exactly these topics."
  type        = list(string)
  default     = []
}

variable "platform" {
  description = "Shared platform facts, built once in the root module (local.platform)."
  type = object({
    project             = string
    project_number      = string
    region              = string
    function_prefix     = string
    runtime_sa_prefix   = string
    invoker_sa_prefix   = string
    secrets             = map(string)
    topics              = map(string)
    bigquery_dataset    = string
    deployers           = list(string)
    scheduler_time_zone = string
  })
}
