"""Two monitoring VMs during a replacement: two real tick processes, started together round
after round against one bucket while requests keep arriving.

Witnesses from outside the scaler: the emulator's operation log (one scaling call per decision
recorded in the history) and the bucket (every stored request ends in exactly one record).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.tickkit import (
    World,
    add_request,
    history,
    pending_keys,
    scaling_calls,
    tick_world,
    wait_running,
)

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 5
ACTIONS = ("scale-up", "scale-down")


@pytest.fixture
def world(moto_endpoint: str, bucket: str) -> Iterator[World]:
    with tick_world(moto_endpoint, bucket, SCALER_COOLDOWN_S="0") as w:
        yield w


class Feeder:
    """Stores requests the way the receiver does, every `interval` seconds, until stopped."""

    def __init__(self, world: World, interval: float = 0.25) -> None:
        self.world = world
        self.interval = interval
        self.keys: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(self.interval):
            # Mostly up, sometimes down: "up beats down" consumes both in one decision.
            direction = "down" if n % 4 == 3 else "up"
            self.keys.append(add_request(self.world.store, self.world.pool, direction,
                                         fingerprint=f"feed{n}"))
            n += 1

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def tick_process(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "functions.scaler.tick"], cwd=ROOT,
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_tick_processes_per_round_act_once_per_decision_and_lose_nothing(world: World) -> None:
    outputs: list[str] = []
    with Feeder(world) as feeder:
        for _ in range(ROUNDS):
            procs = [tick_process(world.env) for _ in range(2)]  # both VMs' timers fire together
            for proc in procs:
                _, err = proc.communicate(timeout=60)
                outputs.append(err)
                # 0: acted or saw the other's lease; nothing else is acceptable here.
                assert proc.returncode == 0, err
            wait_running(world.emu, world.pool)
    wait_running(world.emu, world.pool)
    final = tick_process(world.env)  # requests that arrived after the last round
    _, err = final.communicate(timeout=60)
    assert final.returncode == 0, err

    assert sum("another tick holds the lease" in o for o in outputs) >= 1, "ticks never overlapped"
    records = history(world.store, world.pool)
    decisions = [r for r in records if r["action"] in ACTIONS]
    calls = scaling_calls(world.emu)
    assert len(decisions) >= 2, [r["action"] for r in records]
    assert len(calls) == len(decisions), "scaling calls and decisions differ"
    assert sorted(c.operation_id for c in calls) == sorted(r["operation_id"] for r in decisions)
    recorded = [req["key"] for r in records for req in r.get("requests", [])]
    assert sorted(recorded) == sorted(feeder.keys), "a request was lost or recorded twice"
    assert pending_keys(world.store, world.pool) == []
    ups = sum(1 for r in decisions if r["action"] == "scale-up")
    assert world.size() == 2 + sum(r["to_size"] - r["from_size"] for r in decisions)
    assert ups >= 1
