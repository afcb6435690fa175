output "monitoring_cloud_config" {
  description = "cloud-config of the monitoring VM (contains credentials)."
  value       = local.monitoring_cloud_config
  sensitive   = true
}

output "receiver_webhook_url" {
  description = "The webhook URL Grafana's contact point posts to (loopback on the monitoring VM)."
  value       = local.receiver_webhook_url
}
