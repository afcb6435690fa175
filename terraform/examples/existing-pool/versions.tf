# Terraform and provider versions: the root module's pins (terraform/versions.tf says why each);
# tests/infra/test_provider_pins.py holds every versions.tf to the same constraints.
# providers.tf configures exoscale and aws (pointed at SOS), as terraform/providers.tf does.
terraform {
  required_version = ">= 1.3.0"

  required_providers {
    exoscale = {
      source  = "exoscale/exoscale"
      version = "~> 0.70.0"
    }
    aws = {
      source  = "hashicorp/aws"
      version = "= 6.22.0"
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
