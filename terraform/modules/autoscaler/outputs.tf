output "grafana_url" {
  description = "Grafana on the monitoring VM (user admin, password in grafana_admin_password)."
  value       = "http://${exoscale_compute_instance.monitoring.public_ip_address}:3000"
}

output "prometheus_url" {
  description = "Prometheus on the monitoring VM."
  value       = "http://${exoscale_compute_instance.monitoring.public_ip_address}:9090"
}

output "monitoring_ip" {
  description = "Public IPv4 address of the monitoring VM (SSH as ubuntu when ssh_key_name is set)."
  value       = exoscale_compute_instance.monitoring.public_ip_address
}

output "monitoring_security_group_id" {
  description = "Security group of the monitoring VM: the source to admit on TCP 9100 where scrape_security_group_ids does not."
  value       = exoscale_security_group.monitoring.id
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

output "inspect_env" {
  description = "Environment for `python -m functions.inspect` from a laptop, with the deployment's restricted key: `eval \"$(terraform output -raw inspect_env)\"`."
  sensitive   = true
  value = join("", concat(
    [
      "export EXOSCALE_ZONE=${var.zone}\n",
      "export SOS_BUCKET=${aws_s3_bucket.state.bucket}\n",
      "export SOS_ENDPOINT=https://sos-${var.zone}.exo.io\n",
    ],
    [for name, value in module.scope.pools_env : "export ${name}=${value}\n"],
    [
      "export EXOSCALE_KEY=${exoscale_iam_api_key.scaler.key}\n",
      "export EXOSCALE_SECRET=${exoscale_iam_api_key.scaler.secret}\n",
    ],
  ))
}
