"""The first-boot scripts' retry and reporting paths, run for real with dash against stub commands on
PATH (apt-get, docker, curl, sleep, ... that fail N times, then succeed): no network, no root, no waiting
(the stub `sleep` records the delay it was asked for and returns at once)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import BOOTSTRAP_DIR

LIB = BOOTSTRAP_DIR / "scripts" / "boot-lib.sh"
MEMBER = BOOTSTRAP_DIR / "scripts" / "install-member.sh"

# A stub fails while its counter is below FAIL_<NAME> (default 0), records every call, and prints
# STDOUT_<NAME> when it succeeds.
STUB = """#!/bin/sh
name=$(basename "$0")
var=$(echo "$name" | tr 'a-z-' 'A-Z_')
count_file="$STUBS_STATE/$name.count"
n=$(cat "$count_file" 2>/dev/null || echo 0)
echo $((n + 1)) > "$count_file"
echo "$name $*" >> "$STUBS_STATE/calls"
fail=$(eval echo "\\${FAIL_$var:-0}")
if [ "$n" -lt "$fail" ]; then exit 7; fi
eval "out=\\${STDOUT_$var:-}"
[ -n "$out" ] && echo "$out"
exit 0
"""
COMMANDS = ["apt-get", "apt-mark", "systemctl", "docker", "curl", "gpg", "sleep", "logger"]


@pytest.fixture()
def sandbox(tmp_path: Path) -> dict[str, Path]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name in COMMANDS:
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    (state / "calls").write_text("")
    return {"bin": bin_dir, "state": state, "textfile": tmp_path / "textfile", "console": tmp_path / "console",
            "root": tmp_path}


def run(sandbox: dict[str, Path], script: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {
        "PATH": f"{sandbox['bin']}:/usr/bin:/bin", "STUBS_STATE": str(sandbox["state"]),
        "BOOT_TEXTFILE_DIR": str(sandbox["textfile"]), "BOOT_CONSOLE": str(sandbox["console"]),
        **env,
    }
    return subprocess.run(["dash", "-c", script], capture_output=True, text=True, timeout=60, env=full_env,
                          cwd=sandbox["root"])


def calls(sandbox: dict[str, Path], name: str) -> list[str]:
    return [line for line in (sandbox["state"] / "calls").read_text().splitlines() if line.split()[0] == name]


def lib_script(body: str) -> str:
    return f"set -eu\n. {LIB}\nboot_begin pool\n{body}\n"


def test_retry_backs_off_and_succeeds_after_transient_failures(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, lib_script("boot_step fetch\nretry curl -fsS http://mirror/x"), FAIL_CURL="3")
    assert proc.returncode == 0, proc.stderr
    assert len(calls(sandbox, "curl")) == 4
    assert [c.split()[1] for c in calls(sandbox, "sleep")] == ["5", "10", "20"]   # doubling backoff
    assert 'autoscaler_boot_ok{role="pool",step="done"} 1' in (sandbox["textfile"] / "boot.prom").read_text()
    assert not sandbox["console"].exists()   # nothing to say on the console when the boot finished


def test_retry_is_bounded_and_a_failed_boot_says_where_it_stopped(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, lib_script("boot_step fetch\nretry curl -fsS http://mirror/x\nboot_step never"),
               FAIL_CURL="100")
    assert proc.returncode == 7
    assert len(calls(sandbox, "curl")) == 6                     # BOOT_ATTEMPTS
    assert [c.split()[1] for c in calls(sandbox, "sleep")] == ["5", "10", "20", "40", "60"]  # capped at 60 s
    status = (sandbox["textfile"] / "boot.prom").read_text()
    assert 'autoscaler_boot_ok{role="pool",step="fetch"} 0' in status
    console = sandbox["console"].read_text().splitlines()
    assert len(console) == 1 and console[0].startswith("<3>autoscaler-boot: FAILED on the pool VM at step 'fetch'")
    assert calls(sandbox, "logger") and "FAILED" in calls(sandbox, "logger")[0]


def test_apt_waits_for_the_dpkg_lock_and_retries_a_failing_mirror(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, lib_script("apt_install docker.io"), FAIL_APT_GET="2")
    assert proc.returncode == 0, proc.stderr
    apt = calls(sandbox, "apt-get")
    assert len(apt) == 4   # update fails twice, then update and install succeed
    assert all("-o DPkg::Lock::Timeout=600" in c for c in apt)
    assert [c.split()[-2:] for c in apt][-2:] == [["update", "--error-on=any"], ["install", "docker.io"]]


def test_apt_hold_retries_while_dpkg_is_locked(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, lib_script("boot_step grafana\napt_hold grafana"), FAIL_APT_MARK="2")
    assert proc.returncode == 0, proc.stderr
    assert [c.split()[1:] for c in calls(sandbox, "apt-mark")] == [["hold", "grafana"]] * 3
    assert len(calls(sandbox, "sleep")) == 2


def test_a_key_download_that_fails_fails_the_boot_before_gpg_runs(sandbox: dict[str, Path]) -> None:
    script = lib_script("boot_step grafana\nfetch_key https://apt.example/gpg.key keyring.gpg\nboot_step never")
    proc = run(sandbox, script, FAIL_CURL="100")
    assert proc.returncode == 7
    assert not calls(sandbox, "gpg")   # nothing dearmors an empty download into a keyring
    assert 'autoscaler_boot_ok{role="pool",step="grafana"} 0' in (sandbox["textfile"] / "boot.prom").read_text()


def test_a_key_is_downloaded_to_a_file_then_dearmored(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, lib_script("fetch_key https://apt.example/gpg.key keyring.gpg"), FAIL_CURL="1")
    assert proc.returncode == 0, proc.stderr
    curl = calls(sandbox, "curl")
    assert len(curl) == 2 and all("-o keyring.gpg.asc https://apt.example/gpg.key" in c for c in curl)
    assert calls(sandbox, "gpg") == ["gpg --dearmor --yes -o keyring.gpg keyring.gpg.asc"]


def member_script(sandbox: dict[str, Path]) -> str:
    """install-member.sh with its two sourced files pointed into the sandbox."""
    env_file = sandbox["root"] / "member.env"
    env_file.write_text("LOAD_GENERATOR_IMAGE=example/app:1\n")
    text = MEMBER.read_text().replace("/usr/local/lib/autoscaler/boot-lib.sh", str(LIB))
    return text.replace("/etc/autoscaler/member.env", str(env_file))


def test_member_boot_survives_a_flaky_registry_and_reports_done(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, member_script(sandbox), FAIL_DOCKER="2", STDOUT_DOCKER="true", FAIL_CURL="1")
    assert proc.returncode == 0, proc.stderr
    docker = calls(sandbox, "docker")
    assert [c.split()[1] for c in docker[:3]] == ["pull", "pull", "pull"]
    assert any(c.startswith("docker run --detach --name load-generator") and "--network host" in c
               and c.endswith("example/app:1") for c in docker)
    assert any("http://127.0.0.1:8080/health" in c for c in calls(sandbox, "curl"))
    assert 'step="done"} 1' in (sandbox["textfile"] / "boot.prom").read_text()


def test_member_installs_its_packages_in_one_apt_transaction(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, member_script(sandbox), STDOUT_DOCKER="true")
    assert proc.returncode == 0, proc.stderr
    apt = [c.split() for c in calls(sandbox, "apt-get")]
    assert len(apt) == 2   # one update, one install
    assert apt[0][-2:] == ["update", "--error-on=any"]
    assert apt[1][-3:] == ["install", "prometheus-node-exporter", "docker.io"]


def test_member_whose_container_never_started_is_a_failed_boot(sandbox: dict[str, Path]) -> None:
    # every docker call "works" but inspect reports the container is not running
    proc = run(sandbox, member_script(sandbox), STDOUT_DOCKER="false")
    assert proc.returncode != 0
    assert 'autoscaler_boot_ok{role="pool",step="app"} 0' in (sandbox["textfile"] / "boot.prom").read_text()
    assert "FAILED on the pool VM at step 'app'" in sandbox["console"].read_text()
    assert not calls(sandbox, "curl")   # no health check of a container that is not there


def test_member_boot_gives_up_when_the_registry_stays_down(sandbox: dict[str, Path]) -> None:
    proc = run(sandbox, member_script(sandbox), FAIL_DOCKER="100")
    assert proc.returncode == 7
    assert len([c for c in calls(sandbox, "docker") if c.split()[1] == "pull"]) == 6
    assert not [c for c in calls(sandbox, "docker") if c.split()[1] == "run"]
    assert "step 'app'" in sandbox["console"].read_text()


def test_both_scripts_use_the_library_for_every_download() -> None:
    for name in ("install-member.sh", "install-monitoring.sh"):
        text = (BOOTSTRAP_DIR / "scripts" / name).read_text()
        assert ". /usr/local/lib/autoscaler/boot-lib.sh" in text and "boot_begin " in text
        assert not re.search(r"^\s*apt-get ", text, re.M), f"{name}: apt-get outside apt_install"
        assert not re.search(r"^\s*apt-mark ", text, re.M), f"{name}: apt-mark outside apt_hold"
        assert not re.search(r"\|\s*gpg\b", text), f"{name}: a download piped into gpg (use fetch_key)"
        # no download command runs unretried: as a command, curl / pip install / docker pull only after `retry`
        for line in text.splitlines():
            first = line.split()[:2]
            downloads = first[:1] == ["curl"] or first == ["docker", "pull"] or (first and first[0].endswith("/pip"))
            assert not downloads, f"{name}: {line.strip()} runs without retry"
        assert "retry curl" in text and ("retry docker pull" in text or "retry /opt/autoscaler/venv/bin/pip" in text)


def test_dash_is_the_shell_the_scripts_are_tested_with() -> None:
    # Ubuntu's /bin/sh is dash: test with it, not bash
    assert os.path.exists("/bin/dash") or os.path.exists("/usr/bin/dash")
