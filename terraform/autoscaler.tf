# The autoscaler for this deployment's one pool: monitoring VM, bucket, IAM key scoped to the pool,
# the 9100 rule on the pool's security group, the alerting (terraform/modules/autoscaler).

module "autoscaler" {
  source = "./modules/autoscaler"

  name = local.name
  zone = var.zone
  pools = {
    # "default" is the name a handler gives a pool set by INSTANCEPOOL_ID alone, so the deployed
    # handlers and a bare INSTANCEPOOL_ID (the sandbox, a laptop) label it alike. Null max_step and
    # cooldown_s: the handlers' defaults (functions/common/config.py), as deployed before.
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
  scrape_security_group_ids = { pool = exoscale_security_group.pool.id }
  admin_cidrs               = var.admin_cidrs
  monitoring_instance_type  = var.monitoring_instance_type
  disk_size                 = var.disk_size
  ssh_key_name              = local.ssh_key_set ? exoscale_ssh_key.admin[0].name : ""
  operator_webhook_url      = var.operator_webhook_url
}
