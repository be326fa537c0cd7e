terraform {
  # strcontains() and check blocks need 1.5.
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # The state holds the database passwords and the PII hash key (they are
  # generated here and written to Secret Manager): keep it in a bucket only
  # the platform team can read. `terraform init -backend-config=bucket=…`.
  backend "gcs" {
    prefix = "bff-backoffice"
  }
}

provider "google" {
  project        = var.project
  region         = var.region
  default_labels = local.labels
}
