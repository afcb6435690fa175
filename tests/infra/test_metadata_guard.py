"""The metadata guard: only root may reach 169.254.169.254 (user_data holds secrets). The ruleset is
validated by the real `nft --check` (nothing is loaded into this machine's kernel)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.infra.conftest import BOOTSTRAP_DIR

RULESET = BOOTSTRAP_DIR / "nftables" / "metadata-guard.nft"


def nft() -> str:
    found = shutil.which("nft") or next((p for p in ("/usr/sbin/nft", "/sbin/nft") if Path(p).exists()), None)
    if not found:
        pytest.fail("nft not found: install apt package 'nftables'", pytrace=False)
    return found


def check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([nft(), "--check", "-f", str(path)], capture_output=True, text=True, timeout=30)


def test_ruleset_is_valid_nftables() -> None:
    proc = check(RULESET)
    assert proc.returncode == 0, proc.stderr


def test_check_would_catch_a_typo(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nft"
    bad.write_text(RULESET.read_text().replace("meta skuid", "meta skuidd"))
    assert check(bad).returncode != 0


def test_rule_refuses_every_user_but_root_and_only_for_the_metadata_server() -> None:
    rules = [line.strip() for line in RULESET.read_text().splitlines()
             if "daddr" in line and not line.strip().startswith("#")]
    assert rules == ['ip daddr 169.254.169.254 meta skuid != 0 counter reject comment "metadata server: root only"']
    assert "hook output" in RULESET.read_text() and "policy accept" in RULESET.read_text()


def test_the_monitoring_vm_ships_the_ruleset_where_the_unit_reads_it(rendered: dict) -> None:
    files = {f["path"]: f for f in yaml.safe_load(rendered["monitoring"])["write_files"]}
    assert files["/etc/autoscaler/metadata-guard.nft"]["content"] == RULESET.read_text()
