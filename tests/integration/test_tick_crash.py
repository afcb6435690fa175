"""The real tick process killed (SIGKILL) at every step, and two ticks at once.

The emulator's own operation log is the witness: exactly one scaling call per decision,
and every stored request ends in the history, none left pending.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.integration.tickkit import (
    add_request,
    history,
    pending_keys,
    scaling_calls,
    tick_world,
)

STEPS = ["lease", "probe", "state-read", "requests-read", "pool-read", "decided",
         "intent-written", "acted", "acted-recorded", "history-written", "requests-deleted"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(env: dict[str, str], *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **env, "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-m", "functions.scaler.tick", *args]
    if crash_at:
        full["CRASH_AT"] = crash_at
        cmd = [sys.executable, os.path.join(ROOT, "tests/integration/crash_tick.py"), *args]
    return subprocess.run(cmd, env=full, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture
def world(moto_endpoint: str, bucket: str) -> Iterator[dict]:
    with tick_world(moto_endpoint, bucket, SCALER_LEASE_S="1") as w:
        yield vars(w)


def assert_exactly_once(world: dict, requests: list[str]) -> None:
    calls = scaling_calls(world["emu"])
    assert [(c.operation, c.arguments) for c in calls] == [("scale-instance-pool", {"size": 3})]
    assert pending_keys(world["store"], world["pool"]) == []
    records = history(world["store"], world["pool"])
    recorded = [r["key"] for rec in records for r in rec.get("requests", [])]
    assert set(requests) <= set(recorded), "a request was lost"
    assert [rec["action"] for rec in records].count("scale-up") == 1


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_step_then_next_tick(world: dict, step: str) -> None:
    requests = [add_request(world["store"], world["pool"], "up", fingerprint=f"f{i}")
                for i in range(2)]
    killed = run(world["env"], crash_at=step)
    assert killed.returncode == -9, killed.stderr
    time.sleep(1.1)  # the killed tick's lease (1 s here) must expire
    after = run(world["env"])
    assert after.returncode == 0, after.stderr
    assert_exactly_once(world, requests)
    again = run(world["env"])  # nothing left to apply twice
    assert again.returncode == 0, again.stderr
    assert len(scaling_calls(world["emu"])) == 1


def test_two_ticks_at_once_act_once(world: dict) -> None:
    env = {**world["env"], "SCALER_LEASE_S": "30"}
    full = {**os.environ, **env, "PYTHONPATH": ROOT}
    requests = [add_request(world["store"], world["pool"], "up", fingerprint=f"f{i}")
                for i in range(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "functions.scaler.tick"], env=full, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert_exactly_once(world, requests)


def test_config_error_exits_2(world: dict) -> None:
    proc = run({**world["env"], "SCALER_MAX_STEP": "yolo"})
    assert proc.returncode == 2 and "SCALER_MAX_STEP" in proc.stderr


def test_sos_unreachable_exits_1_without_calls(world: dict) -> None:
    add_request(world["store"], world["pool"], "up")
    proc = run({**world["env"], "SOS_ENDPOINT": "http://127.0.0.1:9"})
    assert proc.returncode == 1 and "cannot reach the state bucket" in proc.stderr
    assert scaling_calls(world["emu"]) == []


def test_dry_run_process_prints_decision(world: dict) -> None:
    add_request(world["store"], world["pool"], "up")
    proc = run(world["env"], "--dry-run")
    assert proc.returncode == 0 and '"action": "scale-up"' in proc.stdout
    assert scaling_calls(world["emu"]) == []
