# Renders the VMs' cloud-config from bootstrap/ (a provider-free module, so tests render it offline).

module "bootstrap" {
  source = "./modules/bootstrap"

  zone = var.zone
  # One pool, named as the handlers name a lone pool (functions/common/pools.py DEFAULT_NAME).
  pools = {
    default = {
      id            = exoscale_instance_pool.app.id
      min_size      = var.pool_min_size
      max_size      = var.pool_max_size
      max_step      = null
      cooldown_s    = null
      instance_type = var.pool_instance_type
      demand        = "in_flight"
    }
  }
  sos_bucket             = aws_s3_bucket.state.bucket
  artifact_key           = aws_s3_object.functions.key
  scaler_key             = exoscale_iam_api_key.scaler.key
  scaler_secret          = exoscale_iam_api_key.scaler.secret
  scaler_token           = random_password.scaler_token.result
  grafana_admin_password = random_password.grafana_admin.result
  operator_webhook_url   = var.operator_webhook_url
}
