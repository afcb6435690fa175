output "cloud_config" {
  description = "cloud-config of the pool members (no secret in it)."
  value       = local.cloud_config
}
