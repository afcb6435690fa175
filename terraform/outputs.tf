output "nlb_address" {
  description = "Public IPv4 address of the NLB; the app answers on http://<address>/ (try /health and /load)."
  value       = exoscale_nlb.app.ip_address
}

output "grafana_url" {
  description = "Grafana on the monitoring VM (user admin, password in grafana_admin_password)."
  value       = module.autoscaler.grafana_url
}

output "prometheus_url" {
  description = "Prometheus on the monitoring VM."
  value       = module.autoscaler.prometheus_url
}

output "monitoring_ip" {
  description = "Public IPv4 address of the monitoring VM (SSH as ubuntu when ssh_public_key is set)."
  value       = module.autoscaler.monitoring_ip
}

output "grafana_admin_password" {
  description = "Generated password of Grafana's admin user."
  value       = module.autoscaler.grafana_admin_password
  sensitive   = true
}

output "bucket" {
  description = "SOS state bucket of this deployment."
  value       = module.autoscaler.bucket
}

output "sos_endpoint" {
  description = "S3 endpoint of the state bucket."
  value       = module.autoscaler.sos_endpoint
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
  value       = module.autoscaler.inspect_env
  sensitive   = true
}
