"""Rendered cloud-config documents: schema-valid, under the user_data limit, right files and modes."""
from __future__ import annotations

import base64
import gzip
import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from functions.common import config
from tests.infra.conftest import BOOTSTRAP_DIR, MEMBER_DIR, TEST_VARS, console, tool

BOOT_LIB = BOOTSTRAP_DIR / "scripts" / "boot-lib.sh"
REQUIRED_ENV = ["EXOSCALE_KEY", "EXOSCALE_SECRET", "EXOSCALE_ZONE", "INSTANCEPOOL_ID", "SOS_BUCKET",
                "SOS_ENDPOINT", "LISTEN_ADDR", "LISTEN_PORT", "SCALER_TOKEN", "SCALER_MIN_SIZE",
                "SCALER_MAX_SIZE", "SD_OUTPUT", "TEXTFILE_DIR"]


def env_map(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def documents(rendered: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The monitoring VM's document (terraform/modules/bootstrap) and the root pool's members' one
    (terraform/modules/member), rendered by terraform."""
    out = console(MEMBER_DIR, "base64encode(local.cloud_config)\n", {}, tmp_path_factory.mktemp("member"))
    return {"monitoring": rendered["monitoring"], "pool": base64.b64decode(json.loads(out)).decode()}


@pytest.mark.parametrize("doc", ["monitoring", "pool"])
def test_cloud_init_schema(documents: dict, doc: str, tmp_path: Path) -> None:
    path = tmp_path / f"{doc}.yaml"
    path.write_text(documents[doc])
    proc = subprocess.run([tool("cloud-init"), "schema", "--config-file", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Valid" in proc.stdout, proc.stdout + proc.stderr


def test_user_data_fits_32_kib(documents: dict) -> None:
    for doc in ("monitoring", "pool"):
        raw = documents[doc].encode()
        # the monitoring VM's document is gzipped by cloudinit_config; the pool's goes as is
        payload = gzip.compress(raw) if doc == "monitoring" else raw
        size = len(base64.b64encode(payload))
        assert size < 32768 - 2048, f"{doc} user_data is {size} bytes base64 (limit 32768, 2 KiB MIME margin)"


def test_monitoring_files_and_modes(rendered: dict) -> None:
    cfg = yaml.safe_load(rendered["monitoring"])
    files = {f["path"]: f for f in cfg["write_files"]}
    for secret in ("/etc/autoscaler/autoscaler.env", "/etc/autoscaler/sos-curl.conf", "/etc/autoscaler/grafana.env",
                   "/etc/grafana/provisioning/alerting/autoscaler.yaml"):
        assert files[secret]["permissions"] == "0600", secret
    for path, f in files.items():
        if f["permissions"] != "0600":
            for value in (TEST_VARS["scaler_secret"], TEST_VARS["scaler_token"], TEST_VARS["grafana_admin_password"]):
                assert value not in f["content"], f"secret in world-readable {path}"
    env = env_map(files["/etc/autoscaler/autoscaler.env"]["content"])
    assert env == env_map(rendered["scaler_env"])
    for name in REQUIRED_ENV:
        assert env.get(name), name
    assert (env["LISTEN_ADDR"], env["LISTEN_PORT"]) == ("127.0.0.1", "8090")
    assert env["INSTANCEPOOL_ID"] == TEST_VARS["pools"]["default"]["id"]
    assert env["SD_OUTPUT"] == "/var/lib/autoscaler/file_sd/pool.json"
    # the tick reads requests in flight from the port the pool's scrape job targets
    assert env["TARGET_PORT"] == "9100"
    # the pool's type, priced by the bundled table (an unknown type would stop the handlers)
    assert env["SCALER_INSTANCE_TYPE"] == "standard.tiny"
    assert config.load({**env, "SOS_ENDPOINT": "http://127.0.0.1:1"}).price_hourly > 0
    # node exporter reads the directory the handlers write their .prom files to
    assert env["TEXTFILE_DIR"] in files["/etc/default/prometheus-node-exporter"]["content"]
    units = {p.rsplit("/", 1)[1] for p in files if p.startswith("/etc/systemd/system/autoscaler-")}
    assert units == {p.name for p in (BOOTSTRAP_DIR / "systemd").glob("autoscaler-*")}
    assert "autoscaler-tick.path" in units and "autoscaler-metadata-guard.service" in units
    assert cfg["runcmd"] == [["/usr/local/sbin/autoscaler-install"]]
    assert files["/usr/local/sbin/autoscaler-install"]["permissions"] == "0755"
    # packages come from the install script (retried, reported), never from cloud-init's module
    assert "packages" not in cfg and "package_update" not in cfg
    script = files["/usr/local/sbin/autoscaler-install"]["content"]
    assert "apt_install prometheus prometheus-node-exporter python3-venv" in script
    assert files["/usr/local/lib/autoscaler/boot-lib.sh"]["content"] == BOOT_LIB.read_text()


def test_install_script_gets_grafana_from_its_repository_and_functions_from_the_bucket(rendered: dict) -> None:
    cfg = yaml.safe_load(rendered["monitoring"])
    script = next(f["content"] for f in cfg["write_files"] if f["path"] == "/usr/local/sbin/autoscaler-install")
    assert "https://apt.grafana.com stable main" in script
    # Grafana pinned to the version the fixtures were checked against, and held
    assert 'apt_install "grafana=${GRAFANA_VERSION}"' in script and "apt_hold grafana" in script
    assert "GRAFANA_VERSION=12.4.3" in next(f["content"] for f in cfg["write_files"]
                                            if f["path"] == "/etc/autoscaler/install.env")
    assert "--aws-sigv4" in script and "${SOS_BUCKET}/${ARTIFACT_KEY}" in script
    assert "-r /opt/autoscaler/app/functions/requirements.txt" in script
    install_env = next(f["content"] for f in cfg["write_files"] if f["path"] == "/etc/autoscaler/install.env")
    assert f"ARTIFACT_KEY={TEST_VARS['artifact_key']}" in install_env
    # restore runs before Prometheus starts with the restored targets
    assert script.index("autoscaler-sd-restore") < script.index("systemctl restart prometheus\n")
    proc = subprocess.run(["sh", "-n"], input=script, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_pool_runs_the_app_and_node_exporter(documents: dict) -> None:
    cfg = yaml.safe_load(documents["pool"])
    files = {f["path"]: f for f in cfg["write_files"]}
    assert "packages" not in cfg and cfg["runcmd"] == [["/usr/local/sbin/autoscaler-member-install"]]
    script = files["/usr/local/sbin/autoscaler-member-install"]["content"]
    assert files["/usr/local/sbin/autoscaler-member-install"]["permissions"] == "0755"
    assert "apt_install prometheus-node-exporter docker.io" in script
    # the app's connections must be the host's, where node exporter's netstat collector counts them
    run = next(line for line in script.splitlines() if line.strip().startswith("docker run "))
    assert "--network host" in run and "--publish" not in run and run.endswith('"$LOAD_GENERATOR_IMAGE"')
    env = env_map(files["/etc/autoscaler/member.env"]["content"])
    assert env == {"LOAD_GENERATOR_IMAGE": "quay.io/janoszen/http-load-generator:1.0.1"}
    # members export their boot status through the same textfile collector configuration
    assert "/var/lib/autoscaler/textfile" in files["/etc/default/prometheus-node-exporter"]["content"]
    assert files["/usr/local/lib/autoscaler/boot-lib.sh"]["content"] == BOOT_LIB.read_text()


def test_monitoring_prometheus_retention_is_bounded_by_flags_prometheus_knows(rendered: dict) -> None:
    """The 5 s scrape triples the samples: the TSDB is bounded by time and by size, with flags the
    installed Prometheus (Debian's, as on the VM) accepts."""
    files = {f["path"]: f for f in yaml.safe_load(rendered["monitoring"])["write_files"]}
    (value,) = shlex.split(env_map(files["/etc/default/prometheus"]["content"])["ARGS"])  # one quoted word
    args = value.split()
    flags = dict(arg.split("=", 1) for arg in args)
    assert set(flags) == {"--storage.tsdb.retention.time", "--storage.tsdb.retention.size"}
    assert flags["--storage.tsdb.retention.size"] == "4GB"
    usage = subprocess.run([tool("prometheus"), "--help"], capture_output=True, text=True, timeout=30)
    for flag in flags:
        assert flag in usage.stdout + usage.stderr
