# The two cloud-config documents (plain text; the root module gzips the monitoring one).

locals {
  sos_endpoint = "https://sos-${var.zone}.exo.io"

  # The pools per functions/common/pools.py: one pool as INSTANCEPOOL_ID and INSTANCEPOOL_NAME with
  # the global SCALER_* settings (exactly the single-pool env), several as one INSTANCEPOOLS entry
  # each with every setting explicit. A null max_step or cooldown_s is left to the handlers' default.
  pool_names = sort(keys(var.pools))
  only_pool  = var.pools[local.pool_names[0]]
  pool_env = length(var.pools) == 1 ? tolist([
    "INSTANCEPOOL_ID=${local.only_pool.id}", "INSTANCEPOOL_NAME=${local.pool_names[0]}",
    ]) : tolist([
    "INSTANCEPOOLS=${join(",", [for name in local.pool_names : join(":", concat(
      ["${name}=${var.pools[name].id}", "min=${var.pools[name].min_size}", "max=${var.pools[name].max_size}"],
      var.pools[name].max_step == null ? [] : ["step=${var.pools[name].max_step}"],
      var.pools[name].cooldown_s == null ? [] : ["cooldown=${var.pools[name].cooldown_s}"],
      ["type=${var.pools[name].instance_type}"],
    ))])}",
  ])
  pool_settings_env = length(var.pools) == 1 ? tolist(concat(
    [
      "SCALER_MIN_SIZE=${local.only_pool.min_size}",
      "SCALER_MAX_SIZE=${local.only_pool.max_size}",
      # The pool's type in the price table (functions/common/prices.json): cost, spend, the cap.
      "SCALER_INSTANCE_TYPE=${local.only_pool.instance_type}",
    ],
    local.only_pool.max_step == null ? [] : ["SCALER_MAX_STEP=${local.only_pool.max_step}"],
    local.only_pool.cooldown_s == null ? [] : ["SCALER_COOLDOWN_S=${local.only_pool.cooldown_s}"],
  )) : tolist([])

  scaler_env = join("\n", concat(
    [
      "EXOSCALE_KEY=${var.scaler_key}",
      "EXOSCALE_SECRET=${var.scaler_secret}",
      "EXOSCALE_ZONE=${var.zone}",
    ],
    local.pool_env,
    [
      "SOS_BUCKET=${var.sos_bucket}",
      "SOS_ENDPOINT=${local.sos_endpoint}",
      "LISTEN_ADDR=127.0.0.1",
      "LISTEN_PORT=${local.receiver_port}",
      "SCALER_TOKEN=${var.scaler_token}",
    ],
    local.pool_settings_env,
    [
      "SD_OUTPUT=/var/lib/autoscaler/file_sd/pool.json",
      # The members' node exporter: Prometheus scrapes it, and a scale-down reads each member's
      # requests in flight from it to choose whom to evict.
      "TARGET_PORT=9100",
      "TEXTFILE_DIR=/var/lib/autoscaler/textfile",
      # In the receiver's RuntimeDirectory; the receiver (stored request) and sd (members changed)
      # touch it, and autoscaler-tick.path starts a tick when it changes.
      "SCALER_KICK_FILE=/run/autoscaler/kick",
      "",
    ],
  ))

  install_env = join("\n", [
    "ZONE=${var.zone}",
    "SOS_ENDPOINT=${local.sos_endpoint}",
    "SOS_BUCKET=${var.sos_bucket}",
    "ARTIFACT_KEY=${var.artifact_key}",
    "GRAFANA_VERSION=${var.grafana_version}",
    "",
  ])

  # The retry/report library and node exporter's textfile directory (boot status); the members get
  # the same two from terraform/modules/member.
  common_files = [
    { path = "/usr/local/lib/autoscaler/boot-lib.sh", permissions = "0644", content = file("${local.bootstrap_dir}/scripts/boot-lib.sh") },
    { path = "/etc/default/prometheus-node-exporter", permissions = "0644", content = file("${local.bootstrap_dir}/prometheus/node-exporter.default") },
  ]

  units = [
    "autoscaler-receiver.service",
    "autoscaler-tick.service",
    "autoscaler-tick.timer",
    "autoscaler-tick.path",
    "autoscaler-sd.service",
    "autoscaler-sd.timer",
    "autoscaler-sd-restore.service",
    "autoscaler-metadata-guard.service",
  ]

  monitoring_files = concat(
    local.common_files,
    [
      { path = "/etc/autoscaler/autoscaler.env", permissions = "0600", content = local.scaler_env },
      { path = "/etc/autoscaler/install.env", permissions = "0644", content = local.install_env },
      { path = "/etc/autoscaler/sos-curl.conf", permissions = "0600", content = "user = \"${var.scaler_key}:${var.scaler_secret}\"\n" },
      { path = "/etc/autoscaler/grafana.env", permissions = "0600", content = "GF_SECURITY_ADMIN_PASSWORD=${var.grafana_admin_password}\nGF_ANALYTICS_REPORTING_ENABLED=false\nGF_ANALYTICS_CHECK_FOR_UPDATES=false\nGF_USERS_ALLOW_SIGN_UP=false\n" },
      { path = "/etc/prometheus/prometheus.yml", permissions = "0644", content = file("${local.bootstrap_dir}/prometheus/prometheus.yml") },
      { path = "/etc/default/prometheus", permissions = "0644", content = file("${local.bootstrap_dir}/prometheus/prometheus.default") },
      { path = "/etc/autoscaler/metadata-guard.nft", permissions = "0644", content = file("${local.bootstrap_dir}/nftables/metadata-guard.nft") },
      { path = "/etc/grafana/provisioning/datasources/autoscaler.yaml", permissions = "0644", content = file("${local.bootstrap_dir}/grafana/provisioning/datasources.yaml") },
      { path = "/etc/grafana/provisioning/dashboards/autoscaler.yaml", permissions = "0644", content = file("${local.bootstrap_dir}/grafana/provisioning/dashboards.yaml") },
      { path = "/etc/grafana/provisioning/alerting/autoscaler.yaml", permissions = "0600", content = local.grafana_alerting_yaml },
      { path = "/etc/grafana/dashboards/autoscaler.json", permissions = "0644", content = local.dashboard_json },
      { path = "/etc/systemd/system/grafana-server.service.d/autoscaler.conf", permissions = "0644", content = file("${local.bootstrap_dir}/systemd/grafana-server-autoscaler.conf") },
      { path = "/usr/local/sbin/autoscaler-install", permissions = "0755", content = file("${local.bootstrap_dir}/scripts/install-monitoring.sh") },
    ],
    [for unit in local.units : { path = "/etc/systemd/system/${unit}", permissions = "0644", content = file("${local.bootstrap_dir}/systemd/${unit}") }],
  )

  monitoring_cloud_config = templatefile("${local.bootstrap_dir}/cloud-init/monitoring.yaml.tftpl", {
    files = local.monitoring_files
  })
}
