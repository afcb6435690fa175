# Pure module: no providers, so it renders offline (tests evaluate it with `terraform console`).
terraform {
  required_version = ">= 1.0.0"
}
