# The instance pool running http-load-generator (8080) and node exporter (9100).

resource "exoscale_instance_pool" "app" {
  zone               = var.zone
  name               = "${local.name}-pool"
  description        = "http-load-generator members scaled by the autoscaler"
  template_id        = data.exoscale_template.ubuntu.id
  instance_type      = var.pool_instance_type
  disk_size          = var.disk_size
  size               = var.pool_initial_size
  instance_prefix    = "${local.name}-app"
  security_group_ids = [exoscale_security_group.pool.id]
  key_pair           = local.ssh_key_set ? exoscale_ssh_key.admin[0].name : null
  user_data          = module.member.cloud_config
  labels             = { deployment = local.name, role = "pool" }

  lifecycle {
    # The scaler owns the size after creation; apply must never undo its work. The template data
    # source returns the newest image of that name, so without template_id here every image refresh
    # by Exoscale would make the next plan change the pool. (Evictions change only `instances`,
    # which is computed: not set here, so a plan never flips it.)
    ignore_changes = [size, template_id]
  }
}

# What the members run: http-load-generator and node exporter (a provider-free module).
module "member" {
  source = "./modules/member"
}
