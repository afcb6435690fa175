"""systemd units: `systemd-analyze verify` in a temporary root (any output fails), hardening, timers."""
from __future__ import annotations

import configparser
import posixpath
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import BOOTSTRAP_DIR, tool
from tests.infra.test_cloudinit import env_map

UNIT_DIR = BOOTSTRAP_DIR / "systemd"
UNITS = sorted(p.name for p in UNIT_DIR.glob("autoscaler-*"))
GUARD = "autoscaler-metadata-guard.service"   # root, loads a firewall rule: hardened on its own terms
SERVICES = [u for u in UNITS if u.endswith(".service") and u != GUARD]
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
    "PrivateDevices": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet": "",
    "User": "autoscaler", "EnvironmentFile": "/etc/autoscaler/autoscaler.env", "ReadWritePaths": "/var/lib/autoscaler",
}


def make_root(tmp: Path) -> Path:
    """A root tree with the host's system units, our units, and stand-ins for the paths units name."""
    root = tmp / "root"
    (root / "usr/lib/systemd").mkdir(parents=True)
    host_units = next(p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir())
    shutil.copytree(host_units, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(UNIT_DIR / unit, root / "etc/systemd/system" / unit)
    python = root / "opt/autoscaler/venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    (root / "opt/autoscaler/app").mkdir(parents=True)
    nft = root / "usr/sbin/nft"
    nft.parent.mkdir(parents=True, exist_ok=True)
    nft.write_text("#!/bin/sh\n")
    nft.chmod(0o755)
    (root / "etc/autoscaler").mkdir(parents=True)
    (root / "etc/autoscaler/autoscaler.env").write_text("")
    return root


def verify(root: Path, units: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([tool("systemd-analyze"), "verify", f"--root={root}", *units],
                          cwd=root / "etc/systemd/system", capture_output=True, text=True, timeout=60)


def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    proc = verify(root, UNITS)
    assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), proc.stdout + proc.stderr


def test_verify_would_catch_a_typo(tmp_path: Path) -> None:
    """Negative control: an unknown key only warns (exit 0), so the silence check above is what matters."""
    root = make_root(tmp_path)
    unit = root / "etc/systemd/system/autoscaler-tick.service"
    unit.write_text(unit.read_text().replace("PrivateTmp=yes", "PrivateTmpp=yes"))
    proc = verify(root, ["autoscaler-tick.service"])
    assert "PrivateTmpp" in proc.stdout + proc.stderr


def parse(unit: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str  # type: ignore[assignment]
    cp.read_string((UNIT_DIR / unit).read_text())
    return cp


@pytest.mark.parametrize("unit", SERVICES)
def test_services_are_hardened(unit: str) -> None:
    service = parse(unit)["Service"]
    for key, value in HARDENING.items():
        if key == "ReadWritePaths":  # the state directory first; sd adds the kick directory
            assert (service.get(key) or "").split()[0] == value, f"{unit}: {key}"
            continue
        assert service.get(key) == value, f"{unit}: {key}"
    assert service["ExecStart"].startswith("/opt/autoscaler/venv/bin/python -m functions.")


def test_entry_points_and_schedule() -> None:
    assert parse("autoscaler-receiver.service")["Service"]["ExecStart"].endswith("functions.scaler.receiver")
    assert parse("autoscaler-receiver.service")["Service"]["Restart"] == "always"
    assert parse("autoscaler-tick.service")["Service"]["ExecStart"].endswith("functions.scaler.tick")
    assert parse("autoscaler-sd.service")["Service"]["ExecStart"].endswith("functions.sd")
    restore = parse("autoscaler-sd-restore.service")
    assert restore["Service"]["ExecStart"].endswith("functions.sd --restore")
    assert "prometheus.service" in restore["Unit"]["Before"]
    tick = parse("autoscaler-tick.timer")["Timer"]
    assert tick["OnCalendar"] == "*-*-* *:*:00" and tick["AccuracySec"] == "1s"
    sd = parse("autoscaler-sd.timer")["Timer"]
    assert sd["OnUnitActiveSec"] == "15s" and sd["AccuracySec"] == "1s"


def test_tick_path_unit_watches_the_kick_file_the_env_sets(rendered: dict) -> None:
    """The receiver touches SCALER_KICK_FILE; the path unit must watch exactly that file, in the
    runtime directory the receiver's service creates and may write (ProtectSystem=strict)."""
    kick = env_map(rendered["scaler_env"])["SCALER_KICK_FILE"]
    path = parse("autoscaler-tick.path")
    assert path["Path"]["PathChanged"] == kick
    assert path["Path"]["Unit"] == "autoscaler-tick.service"
    assert path["Install"]["WantedBy"] == "paths.target"
    receiver = parse("autoscaler-receiver.service")["Service"]
    assert posixpath.dirname(kick) == posixpath.join("/run", receiver["RuntimeDirectory"])
    assert receiver["RuntimeDirectoryPreserve"] == "restart"  # a restart must not fire a kick
    # discovery touches the same file (members changed), as the same user: it may write there, and
    # a missing directory (receiver stopped) must not fail it ("-")
    sd = parse("autoscaler-sd.service")["Service"]
    assert sd["User"] == parse("autoscaler-receiver.service")["Service"]["User"]
    assert "-" + posixpath.dirname(kick) in sd["ReadWritePaths"].split()
    assert "RuntimeDirectory" not in sd  # a oneshot owning it would remove it after every cycle
    # up to 6 starts per 10 s (receiver kicks every 3 s, sd's every 15 s, the timer) must stay
    # under the start limit
    tick = parse("autoscaler-tick.service")["Unit"]
    assert (tick["StartLimitIntervalSec"], int(tick["StartLimitBurst"])) == ("10s", 10)
    script = (BOOTSTRAP_DIR / "scripts" / "install-monitoring.sh").read_text()
    enable = next(line for line in script.splitlines()
                  if line.startswith("systemctl enable --now") and "autoscaler-receiver" in line)
    assert "autoscaler-tick.path" in enable.split() and "autoscaler-tick.timer" in enable.split()


def test_metadata_guard_unit_loads_the_shipped_ruleset_before_the_network() -> None:
    unit = parse(GUARD)
    assert unit["Service"]["ExecStart"] == "/usr/sbin/nft -f /etc/autoscaler/metadata-guard.nft"
    assert unit["Service"]["CapabilityBoundingSet"] == "CAP_NET_ADMIN"
    assert "network-pre.target" in unit["Unit"]["Before"] and unit["Unit"]["DefaultDependencies"] == "no"
    assert unit["Install"]["WantedBy"] == "sysinit.target"
    script = (BOOTSTRAP_DIR / "scripts" / "install-monitoring.sh").read_text()
    # loaded before anything that runs as another user is installed
    assert script.index(f"systemctl enable --now {GUARD}") < script.index("apt_install prometheus")
