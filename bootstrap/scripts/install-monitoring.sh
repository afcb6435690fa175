#!/bin/sh
# Runs once from cloud-init on the monitoring VM (Ubuntu 24.04): the metadata guard first, then
# Prometheus and node exporter from Ubuntu, Grafana (pinned, held) from Grafana's apt repository,
# the handlers from the bucket artifact into a venv, then the services. Every download is retried
# with backoff; a boot that cannot finish says so on the console and in autoscaler_boot_ok.
set -eu
. /usr/local/lib/autoscaler/boot-lib.sh
. /etc/autoscaler/install.env   # ZONE, SOS_ENDPOINT, SOS_BUCKET, ARTIFACT_KEY, GRAFANA_VERSION (no secrets)
boot_begin monitoring

# user_data holds the handlers' credentials and the metadata server serves it over HTTP to any local
# process: from here on only root may reach its HTTP ports (the unit reloads the rule at every boot).
boot_step metadata-guard
apt_install nftables
systemctl daemon-reload
systemctl enable --now autoscaler-metadata-guard.service

boot_step packages
apt_install prometheus prometheus-node-exporter python3-venv unzip curl gnupg

boot_step grafana
install -d -m 0755 /etc/apt/keyrings
fetch_key https://apt.grafana.com/gpg.key /etc/apt/keyrings/grafana.gpg
echo "deb [signed-by=/etc/apt/keyrings/grafana.gpg] https://apt.grafana.com stable main" > /etc/apt/sources.list.d/grafana.list
# The version the provisioning and the webhook fixtures were checked against; held so an
# unattended upgrade cannot move it.
apt_install "grafana=${GRAFANA_VERSION}"
apt_hold grafana
chgrp grafana /etc/grafana/provisioning/alerting/autoscaler.yaml
chmod 0640 /etc/grafana/provisioning/alerting/autoscaler.yaml

# The functions artifact: SigV4-signed GET with the deployment's restricted key (kept in a 0600 file).
boot_step handlers
install -d -m 0755 /opt/autoscaler
retry curl -fsS --max-time 60 --aws-sigv4 "aws:amz:${ZONE}:s3" -K /etc/autoscaler/sos-curl.conf \
  -o /opt/autoscaler/functions.zip "${SOS_ENDPOINT}/${SOS_BUCKET}/${ARTIFACT_KEY}"
rm -rf /opt/autoscaler/app
install -d -m 0755 /opt/autoscaler/app
unzip -q /opt/autoscaler/functions.zip -d /opt/autoscaler/app/functions
python3 -m venv /opt/autoscaler/venv
retry /opt/autoscaler/venv/bin/pip install --no-cache-dir --disable-pip-version-check --timeout 30 \
  -r /opt/autoscaler/app/functions/requirements.txt

boot_step services
install -d -o autoscaler -g autoscaler -m 0755 /var/lib/autoscaler /var/lib/autoscaler/file_sd /var/lib/autoscaler/textfile
systemctl daemon-reload
systemctl restart prometheus-node-exporter
systemctl enable autoscaler-sd-restore.service
systemctl start autoscaler-sd-restore.service || boot_log "sd --restore failed; discovery will fill the targets"
systemctl restart prometheus
systemctl enable --now grafana-server.service autoscaler-receiver.service autoscaler-sd.timer autoscaler-tick.timer autoscaler-tick.path
