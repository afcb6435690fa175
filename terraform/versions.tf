# Terraform and provider versions (pinned; the lock file is created by `terraform init`).
terraform {
  required_version = ">= 1.3.0"

  required_providers {
    # 0.74.x is the current series (shared/REFERENCE.md, issue #4); our attribute fixture comes
    # from the 0.70 docs, the newest the offline sources held, and uses nothing 0.74 changed.
    exoscale = {
      source  = "exoscale/exoscale"
      version = "~> 0.74.0"
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
