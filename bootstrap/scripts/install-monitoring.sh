#!/bin/sh
# Runs once from cloud-init on the monitoring VM (Ubuntu 24.04): Grafana from Grafana's apt
# repository, the handlers from the bucket artifact into a venv, then the services.
set -eu

. /etc/autoscaler/install.env   # ZONE, SOS_ENDPOINT, SOS_BUCKET, ARTIFACT_KEY (no secrets)

install -d -m 0755 /etc/apt/keyrings
curl -fsSL --retry 5 https://apt.grafana.com/gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/grafana.gpg
echo "deb [signed-by=/etc/apt/keyrings/grafana.gpg] https://apt.grafana.com stable main" > /etc/apt/sources.list.d/grafana.list
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confold grafana
chgrp grafana /etc/grafana/provisioning/alerting/autoscaler.yaml
chmod 0640 /etc/grafana/provisioning/alerting/autoscaler.yaml

# The functions artifact: SigV4-signed GET with the deployment's restricted key (kept in a 0600 file).
install -d -m 0755 /opt/autoscaler
curl -fsS --retry 10 --retry-all-errors --aws-sigv4 "aws:amz:${ZONE}:s3" -K /etc/autoscaler/sos-curl.conf \
  -o /opt/autoscaler/functions.zip "${SOS_ENDPOINT}/${SOS_BUCKET}/${ARTIFACT_KEY}"
rm -rf /opt/autoscaler/app
install -d -m 0755 /opt/autoscaler/app
unzip -q /opt/autoscaler/functions.zip -d /opt/autoscaler/app/functions
python3 -m venv /opt/autoscaler/venv
/opt/autoscaler/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /opt/autoscaler/app/functions/requirements.txt

install -d -o autoscaler -g autoscaler -m 0755 /var/lib/autoscaler /var/lib/autoscaler/file_sd /var/lib/autoscaler/textfile

systemctl daemon-reload
systemctl restart prometheus-node-exporter
systemctl enable autoscaler-sd-restore.service
systemctl start autoscaler-sd-restore.service || echo "sd --restore failed; discovery will fill the targets" >&2
systemctl restart prometheus
systemctl enable --now grafana-server.service autoscaler-receiver.service autoscaler-sd.timer autoscaler-tick.timer autoscaler-tick.path
