#!/bin/sh
# Runs once from cloud-init on each pool member (Ubuntu 24.04): node exporter (with the textfile
# collector that carries the boot status), then the app on 8080. Every download is retried with
# backoff; a boot that cannot finish says so on the console and in autoscaler_boot_ok.
set -eu
. /usr/local/lib/autoscaler/boot-lib.sh
. /etc/autoscaler/member.env   # LOAD_GENERATOR_IMAGE
boot_begin pool

# The app: one function, so how the member runs it can change in one place. It shares the host's
# network namespace (--network host; it listens on 8080 itself): behind docker's port mapping the
# NLB's connections would end in the container's namespace, and node exporter, which reads the
# host's /proc/net/snmp, would never count them. Its established connections are the scaler's
# demand figure (requests in flight, bootstrap/alerting/alerts.json).
start_app() {
  retry docker pull "$LOAD_GENERATOR_IMAGE"
  docker rm -f load-generator >/dev/null 2>&1 || true
  docker run --detach --name load-generator --restart always --network host "$LOAD_GENERATOR_IMAGE"
  # A container that was never created (or exited at once) is a failed boot, not a silent one.
  [ "$(docker inspect --format '{{.State.Running}}' load-generator)" = true ]
  retry curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8080/health
}

# One apt transaction for both packages: one `apt-get update`, one install.
boot_step packages
apt_install prometheus-node-exporter docker.io

boot_step node-exporter
systemctl restart prometheus-node-exporter

boot_step docker
systemctl enable --now docker.service

boot_step app
start_app
