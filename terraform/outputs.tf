output "nlb_address" {
  description = "Public IPv4 address of the NLB; the app answers on http://<address>/ (try /health and /load)."
  value       = exoscale_nlb.app.ip_address
}

output "grafana_url" {
  description = "Grafana on the monitoring VM (user admin, password in grafana_admin_password)."
  value       = "http://${exoscale_compute_instance.monitoring.public_ip_address}:3000"
}

output "prometheus_url" {
  description = "Prometheus on the monitoring VM."
  value       = "http://${exoscale_compute_instance.monitoring.public_ip_address}:9090"
}

output "monitoring_ip" {
  description = "Public IPv4 address of the monitoring VM (SSH as ubuntu when ssh_public_key is set)."
  value       = exoscale_compute_instance.monitoring.public_ip_address
}

output "grafana_admin_password" {
  description = "Generated password of Grafana's admin user."
  value       = random_password.grafana_admin.result
  sensitive   = true
}

output "bucket" {
  description = "SOS state bucket of this deployment."
  value       = aws_s3_bucket.state.bucket
}

output "sos_endpoint" {
  description = "S3 endpoint of the state bucket."
  value       = "https://sos-${var.zone}.exo.io"
}

output "instance_pool_id" {
  description = "ID of the autoscaled instance pool."
  value       = exoscale_instance_pool.app.id
}

output "zone" {
  description = "Zone of the deployment."
  value       = var.zone
}

output "inspect_env" {
  description = "Environment for `python -m functions.inspect` from a laptop, with the deployment's restricted key: `eval \"$(terraform output -raw inspect_env)\"`."
  sensitive   = true
  value       = <<-EOT
    export EXOSCALE_ZONE=${var.zone}
    export SOS_BUCKET=${aws_s3_bucket.state.bucket}
    export SOS_ENDPOINT=https://sos-${var.zone}.exo.io
    export INSTANCEPOOL_ID=${exoscale_instance_pool.app.id}
    export EXOSCALE_KEY=${exoscale_iam_api_key.scaler.key}
    export EXOSCALE_SECRET=${exoscale_iam_api_key.scaler.secret}
  EOT
}
