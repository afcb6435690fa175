# The seed pool's members: http-load-generator on 8080 and node exporter on 9100 (netstat collector
# on: the demand figure counts the app's connections). Only the root's own pool uses this; a pool
# created elsewhere brings its own (terraform/examples/existing-pool/README.md says what it must run).

locals {
  bootstrap_dir = "${path.module}/../../../bootstrap"

  # The retry/report library and node exporter's textfile directory (boot status), as on the
  # monitoring VM.
  files = [
    { path = "/usr/local/lib/autoscaler/boot-lib.sh", permissions = "0644", content = file("${local.bootstrap_dir}/scripts/boot-lib.sh") },
    { path = "/etc/default/prometheus-node-exporter", permissions = "0644", content = file("${local.bootstrap_dir}/prometheus/node-exporter.default") },
    { path = "/etc/autoscaler/member.env", permissions = "0644", content = "LOAD_GENERATOR_IMAGE=${var.load_generator_image}\n" },
    { path = "/usr/local/sbin/autoscaler-member-install", permissions = "0755", content = file("${local.bootstrap_dir}/scripts/install-member.sh") },
  ]

  cloud_config = templatefile("${local.bootstrap_dir}/cloud-init/pool.yaml.tftpl", {
    files = local.files
  })
}
