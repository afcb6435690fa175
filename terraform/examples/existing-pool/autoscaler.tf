# The autoscaler for the pools found in pools.tf (terraform/modules/autoscaler): monitoring VM,
# bucket, an IAM key that can scale only these pools, TCP 9100 from the monitoring VM on the pools'
# security groups, the alerting. Nothing else of the pools changes, besides their size.

module "autoscaler" {
  source = "../../modules/autoscaler"

  name = local.name
  zone = var.zone
  pools = {
    for name, pool in var.pools : name => {
      id            = data.exoscale_instance_pool.existing[name].id
      min_size      = pool.min_size
      max_size      = pool.max_size
      max_step      = pool.max_step
      cooldown_s    = pool.cooldown_s
      instance_type = data.exoscale_instance_pool.existing[name].instance_type
      demand        = pool.demand
    }
  }
  scrape_security_group_ids = { for id in local.member_security_groups : id => id }
  admin_cidrs               = var.admin_cidrs
  monitoring_instance_type  = var.monitoring_instance_type
  ssh_key_name              = var.ssh_key_name
  operator_webhook_url      = var.operator_webhook_url
}
