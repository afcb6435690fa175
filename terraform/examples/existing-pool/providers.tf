# Provider configuration: everything authenticates with the two required variables. The aws
# provider manages the state bucket on SOS, configured as in terraform/providers.tf (which says why).

provider "exoscale" {
  key    = var.exoscale_key
  secret = var.exoscale_secret
}

provider "aws" {
  region     = var.zone
  access_key = var.exoscale_key
  secret_key = var.exoscale_secret

  endpoints {
    s3 = "https://sos-${var.zone}.exo.io"
  }

  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_region_validation      = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true

  shared_config_files = [abspath("${path.module}/../../sos-sdk.conf")]
  profile             = "exoscale-sos"
}
