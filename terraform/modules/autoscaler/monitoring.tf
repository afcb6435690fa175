# The monitoring VM: Prometheus, Grafana and the handlers (cloud-config gzipped to stay under 32 KiB).

data "exoscale_template" "ubuntu" {
  zone = var.zone
  name = "Linux Ubuntu 24.04 LTS 64-bit"
}

data "cloudinit_config" "monitoring" {
  gzip          = true
  base64_encode = true

  part {
    content_type = "text/cloud-config"
    content      = module.bootstrap.monitoring_cloud_config
    filename     = "monitoring.yaml"
  }
}

resource "exoscale_compute_instance" "monitoring" {
  zone               = var.zone
  name               = "${var.name}-monitoring"
  template_id        = data.exoscale_template.ubuntu.id
  type               = var.monitoring_instance_type
  disk_size          = var.disk_size
  security_group_ids = [exoscale_security_group.monitoring.id]
  ssh_keys           = var.ssh_key_name != "" ? [var.ssh_key_name] : null
  user_data          = data.cloudinit_config.monitoring.rendered
  labels             = { deployment = var.name, role = "monitoring" }

  # The handlers need the artifact in the bucket at first boot.
  depends_on = [aws_s3_object.functions]

  lifecycle {
    # template_id forces a new VM, and the template data source returns the newest image: without
    # this, the first apply after Exoscale refreshes Ubuntu would replace the monitoring VM.
    # New handler code changes user_data (the artifact key is content-addressed), but user_data is
    # updated in place and cloud-init does not run again on a running VM: the code reaches it only
    # with a replacement (`terraform apply -replace=module.autoscaler.exoscale_compute_instance.monitoring`).
    ignore_changes = [template_id]
  }
}
