"""The real discovery process against the emulator and moto server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from functions.common import keys
from functions.common.store import Store
from tests.integration.tickkit import cfg_for, env_for, start_emulator
from tests.unit.emulator_kit import FakeClock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def world(moto_endpoint: str, bucket: str, tmp_path) -> Iterator[dict]:
    # The model's clock moves only when a test says so: "still booting" cannot depend on how
    # fast the sd process starts on a loaded machine (signatures keep the real clock).
    clock = FakeClock()
    emu, pool_id = start_emulator(3, boot_delay_s=2.0, clock=clock)
    out = tmp_path / "file_sd" / "pool.json"
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    (tmp_path / "run").mkdir()  # the receiver's RuntimeDirectory on the VM
    kick = tmp_path / "run" / "kick"
    env = env_for(moto_endpoint, bucket, emu, pool_id, SD_OUTPUT=str(out), TARGET_PORT="9100",
                  TEXTFILE_DIR=str(textdir), SCALER_KICK_FILE=str(kick))
    yield {"emu": emu, "pool": pool_id, "env": env, "out": out, "textdir": textdir, "kick": kick,
           "boot": lambda: clock.advance(2.0),
           "store": Store.from_config(cfg_for(env))}
    emu.stop()


def sd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "functions.sd", *args],
                          env={**os.environ, **env, "PYTHONPATH": ROOT}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def api_calls(world: dict) -> list[str]:
    return [r.operation_id for r in world["emu"].requests() if r.operation_id]


def test_cycle_writes_targets_snapshot_and_metrics_with_one_call(world: dict) -> None:
    proc = sd(world["env"])
    assert proc.returncode == 0, proc.stderr
    groups = json.loads(world["out"].read_text())
    assert len(groups) == 3 and all(g["targets"][0].endswith(":9100") for g in groups)
    assert {g["labels"]["pool_id"] for g in groups} == {world["pool"]}
    assert api_calls(world) == ["list-instances"]
    snap = world["store"].get(keys.discovery(world["pool"])).body
    assert len(snap["targets"]) == 3 and snap["changed_at"] == snap["checked_at"]
    prom = (world["textdir"] / "autoscaler_sd.prom").read_text()
    assert "autoscaler_sd_targets 3.0" in prom


def test_unchanged_targets_leave_file_and_snapshot_alone(world: dict) -> None:
    sd(world["env"])
    mtime = os.stat(world["out"]).st_mtime_ns
    etag = world["store"].get(keys.discovery(world["pool"])).etag
    assert sd(world["env"]).returncode == 0
    assert os.stat(world["out"]).st_mtime_ns == mtime
    assert world["store"].get(keys.discovery(world["pool"])).etag == etag


def test_api_error_keeps_the_last_good_file(world: dict) -> None:
    sd(world["env"])
    before = world["out"].read_text()
    world["emu"].set_faults({"rules": [{"error_5xx_rate": 1.0}]})
    proc = sd(world["env"])
    assert proc.returncode == 1 and "keeping the last good target file" in proc.stderr
    assert world["out"].read_text() == before


def test_restore_rebuilds_the_file_from_sos_after_the_vm_is_replaced(world: dict) -> None:
    sd(world["env"])
    before = world["out"].read_text()
    world["out"].unlink()
    world["emu"].stop()  # the API is not needed to restore
    proc = sd(world["env"], "--restore")
    assert proc.returncode == 0, proc.stderr
    assert world["out"].read_text() == before


def test_restore_without_snapshot_writes_an_empty_valid_file(world: dict) -> None:
    proc = sd(world["env"], "--restore")
    assert proc.returncode == 0 and json.loads(world["out"].read_text()) == []


def test_new_member_appears_after_it_boots(world: dict) -> None:
    sd(world["env"])
    world["emu"].model.scale(world["pool"], 4)
    sd(world["env"])
    assert len(json.loads(world["out"].read_text())) == 3  # still booting: not a target yet
    world["boot"]()
    sd(world["env"])
    assert len(json.loads(world["out"].read_text())) == 4


def test_changed_targets_kick_the_tick_and_unchanged_ones_do_not(world: dict) -> None:
    assert sd(world["env"]).returncode == 0
    assert world["kick"].exists()  # first cycle: the file was written
    world["kick"].unlink()
    assert sd(world["env"]).returncode == 0
    assert not world["kick"].exists()  # same members: no kick
    world["emu"].model.scale(world["pool"], 4)
    assert sd(world["env"]).returncode == 0
    assert not world["kick"].exists()  # the new member still boots: targets unchanged
    world["boot"]()
    proc = sd(world["env"])
    assert proc.returncode == 0, proc.stderr
    assert world["kick"].exists()  # it runs now: pending requests can be decided


def test_api_error_does_not_kick(world: dict) -> None:
    sd(world["env"])
    world["kick"].unlink()
    world["emu"].set_faults({"rules": [{"error_5xx_rate": 1.0}]})
    assert sd(world["env"]).returncode == 1
    assert not world["kick"].exists()


def test_missing_kick_directory_does_not_fail_the_cycle(world: dict) -> None:
    # The receiver's runtime directory is gone (receiver stopped): discovery must go on.
    world["kick"].parent.rmdir()
    proc = sd(world["env"])
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(world["out"].read_text())) == 3
