output "pools" {
  description = "Each scaled pool's id and instance type, as found in the zone."
  value = {
    for name, pool in data.exoscale_instance_pool.existing : name => {
      id            = pool.id
      instance_type = pool.instance_type
    }
  }
}

output "grafana_url" {
  description = "Grafana on the monitoring VM (user admin, password in grafana_admin_password)."
  value       = module.autoscaler.grafana_url
}

output "prometheus_url" {
  description = "Prometheus on the monitoring VM (reachable from admin_cidrs; a Grafana of your own can use it as a data source)."
  value       = module.autoscaler.prometheus_url
}

output "monitoring_ip" {
  description = "Public IPv4 address of the monitoring VM."
  value       = module.autoscaler.monitoring_ip
}

output "monitoring_security_group_id" {
  description = "Security group of the monitoring VM: members must admit TCP 9100 from it."
  value       = module.autoscaler.monitoring_security_group_id
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

output "inspect_env" {
  description = "Environment for `python -m functions.inspect` from a laptop, with the deployment's restricted key: `eval \"$(terraform output -raw inspect_env)\"`."
  value       = module.autoscaler.inspect_env
  sensitive   = true
}
