# Renders the monitoring VM's cloud-config from bootstrap/: the handlers' environment for these
# pools and the alerting, one alert instance per pool (a provider-free module, rendered offline by tests).

module "bootstrap" {
  source = "../bootstrap"

  zone                   = var.zone
  pools                  = var.pools
  sos_bucket             = aws_s3_bucket.state.bucket
  artifact_key           = aws_s3_object.functions.key
  scaler_key             = exoscale_iam_api_key.scaler.key
  scaler_secret          = exoscale_iam_api_key.scaler.secret
  scaler_token           = random_password.scaler_token.result
  grafana_admin_password = random_password.grafana_admin.result
  operator_webhook_url   = var.operator_webhook_url
}
