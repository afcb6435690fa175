"""The metadata guard: only root may reach the metadata server's HTTP services (user_data holds secrets),
and nothing else on that address is ever refused. The ruleset is validated by the real `nft --check`
(nothing is loaded into this machine's kernel)."""
from __future__ import annotations

import re
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


RULE = re.compile(r"ip daddr (?P<addr>[\d.]+) tcp dport \{ (?P<ports>[\d, ]+) \} meta skuid != 0 counter reject\b")


def refused(rule: str, addr: str, proto: str, port: int, uid: int) -> bool:
    """Whether the guard's one rule refuses this outgoing packet (the ruleset's policy is accept)."""
    match = RULE.search(rule)
    assert match, f"unexpected rule form: {rule}"
    ports = {int(p) for p in match["ports"].split(",")}
    return addr == match["addr"] and proto == "tcp" and port in ports and uid != 0


def guard_rules() -> list[str]:
    return [line.strip() for line in RULESET.read_text().splitlines()
            if "daddr" in line and not line.strip().startswith("#")]


def test_only_http_to_the_metadata_server_is_refused_and_only_for_other_users() -> None:
    rules = guard_rules()
    assert len(rules) == 1
    assert "hook output" in RULESET.read_text() and "policy accept" in RULESET.read_text()
    metadata = "169.254.169.254"
    for addr, proto, port, uid, expected in [
        (metadata, "tcp", 80, 113, True),      # user_data over HTTP, as grafana or any service user
        (metadata, "tcp", 8080, 113, True),    # the password server beside it
        (metadata, "tcp", 80, 0, False),       # root: cloud-init, the install script
        (metadata, "udp", 53, 113, False),     # name resolution, whatever a zone hands out
        (metadata, "tcp", 53, 113, False),
        (metadata, "udp", 123, 113, False),    # time sync
        ("10.0.0.1", "tcp", 80, 113, False),   # any other address
    ]:
        assert refused(rules[0], addr, proto, port, uid) is expected, (addr, proto, port, uid)


def test_the_rule_form_is_checked_against_the_file_not_assumed() -> None:
    """Negative control: the former catch-all rule (every packet to the address) is not accepted as it."""
    catch_all = 'ip daddr 169.254.169.254 meta skuid != 0 counter reject comment "metadata server: root only"'
    with pytest.raises(AssertionError, match="unexpected rule form"):
        refused(catch_all, "169.254.169.254", "udp", 53, 113)


def test_the_monitoring_vm_ships_the_ruleset_where_the_unit_reads_it(rendered: dict) -> None:
    files = {f["path"]: f for f in yaml.safe_load(rendered["monitoring"])["write_files"]}
    assert files["/etc/autoscaler/metadata-guard.nft"]["content"] == RULESET.read_text()
