# Terraform and provider versions (pinned; the lock file is created by `terraform init`).
terraform {
  required_version = ">= 1.3.0"

  required_providers {
    exoscale = {
      source = "exoscale/exoscale"
      # 0.74.x is current (shared/REFERENCE.md); attributes were checked against the 0.70 docs.
      version = ">= 0.70.0, < 0.75.0"
    }
    # SOS has no resource in the exoscale provider: the aws provider, pointed at SOS, manages the bucket.
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7.0"
    }
    cloudinit = {
      source  = "hashicorp/cloudinit"
      version = "~> 2.3.0"
    }
  }
}
