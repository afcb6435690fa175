# Terraform and provider versions. Every constraint must admit a published release:
# tests/infra/test_provider_pins.py evaluates each one against tests/infra/fixtures/provider_releases.json.
terraform {
  required_version = ">= 1.3.0"

  required_providers {
    # v0.70.0 is the newest tag of github.com/exoscale/terraform-provider-exoscale and the tag the
    # attribute fixture (tests/infra/fixtures/provider_schema.json) is generated from. No lock file is
    # committed, so admit only that release line (0.70.x patches), never a 0.71 nobody compared.
    exoscale = {
      source  = "exoscale/exoscale"
      version = "~> 0.70.0"
    }
    # SOS has no bucket resource in the exoscale provider: the aws provider, pointed at SOS, manages
    # it. Pinned exactly to the version the exoscale provider's own SOS acceptance test uses
    # (pkg/resources/sos_bucket_policy/main_test.go: later versions did not work with SOS).
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
