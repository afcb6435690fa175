# Provider configuration: everything authenticates with the two required variables.

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

  # Integrity checksums only where an S3 operation requires one (sos-sdk.conf says why). The named
  # profile keeps an AWS_PROFILE from the shell from selecting another section; the keys above stay
  # the credentials (static keys take precedence over any profile in aws-sdk-go-base).
  shared_config_files = [abspath("${path.module}/sos-sdk.conf")]
  profile             = "exoscale-sos"
}
