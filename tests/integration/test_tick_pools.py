"""The real tick process over two emulator pools, A and B: each acts for its own requests, under its
own lease and cooldown, and a fault in A (deleted, leased elsewhere, any exception) never stops B."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from functions.common import config, keys
from functions.common.exo import PoolApi, make_client
from functions.common.store import Store
from functions.scaler.tick import pools
from functions.scaler.tick.run import tick_pool
from sandbox.emulator.server import EmulatorServer
from tests.conftest import handler_env
from tests.integration.tickkit import (
    NO_EXPORTER,
    add_request,
    history,
    pending_keys,
    scaling_calls,
    start_emulator,
    wait_running,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Two:
    emu: EmulatorServer
    a: str
    b: str
    env: dict[str, str]
    store: Store
    textdir: Path

    def run(self, *args: str, **over: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "functions.scaler.tick", *args],
                              env={**os.environ, **self.env, **over, "PYTHONPATH": str(ROOT)},
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    def size(self, pool_id: str) -> int:
        return self.emu.model.get_pool(pool_id).size

    def calls(self, pool_id: str) -> list[object]:
        return [c.arguments.get("size", c.operation) for c in scaling_calls(self.emu)
                if c.pool_id == pool_id]


def two_pools(endpoint: str, bucket: str, textdir: Path, spec: str = "") -> Iterator[Two]:
    emu, a = start_emulator(2)
    b = emu.create_pool(2)
    env = handler_env(endpoint, bucket, INSTANCEPOOL_ID="", EXOSCALE_API_URL=emu.url,
                      SCALER_LEASE_S="30", SCALER_COOLDOWN_S="0", TEXTFILE_DIR=str(textdir),
                      INSTANCEPOOLS=f"a={a}{spec},b={b}{spec}", TARGET_PORT=str(NO_EXPORTER))
    try:
        yield Two(emu, a, b, env, Store.from_config(config.load(env)), textdir)
    finally:
        emu.stop()


@pytest.fixture
def two(moto_endpoint: str, bucket: str, tmp_path: Path) -> Iterator[Two]:
    yield from two_pools(moto_endpoint, bucket, tmp_path)


def test_an_up_request_on_a_scales_only_a(two: Two) -> None:
    add_request(two.store, two.a, "up")
    proc = two.run()
    assert proc.returncode == 0, proc.stderr
    assert (two.calls(two.a), two.calls(two.b)) == ([3], [])
    assert two.size(two.b) == 2 and history(two.store, two.b) == []
    assert [r["action"] for r in history(two.store, two.a)] == ["scale-up"]
    for name, action in (("a", "scale-up"), ("b", "none")):  # each pool's file, each sample labelled
        text = (two.textdir / f"autoscaler_tick_{name}.prom").read_text()
        assert f'autoscaler_last_decision_info{{action="{action}",pool="{name}"}} 1.0' in text
        assert f'pool="{name}"' in (two.textdir / f"autoscaler_tick_run_{name}.prom").read_text()


def test_a_deleted_under_the_tick_b_still_acts(two: Two) -> None:
    add_request(two.store, two.a, "up")
    add_request(two.store, two.b, "up")
    two.emu.model.delete_pool(two.a)
    proc = two.run()
    assert proc.returncode == 1
    assert "pool=a" in proc.stderr and "1 of 2 pools failed: a" in proc.stderr
    assert two.calls(two.b) == [3] and len(pending_keys(two.store, two.a)) == 1
    assert not (two.textdir / "autoscaler_tick_a.prom").exists()  # not refreshed: alerts see it
    assert (two.textdir / "autoscaler_tick_b.prom").exists()


def test_a_held_by_another_lease_holder_b_acts(two: Two) -> None:
    two.store.put(keys.lease(two.a), {"holder": "other-vm/1/x", "expires_at": time.time() + 600})
    add_request(two.store, two.a, "up")
    add_request(two.store, two.b, "up")
    proc = two.run()
    assert proc.returncode == 0, proc.stderr
    assert "another tick holds the lease" in proc.stderr
    assert (two.calls(two.a), two.calls(two.b)) == ([], [3])
    assert len(pending_keys(two.store, two.a)) == 1


def test_as_cooldown_does_not_hold_b(moto_endpoint: str, bucket: str, tmp_path: Path) -> None:
    """The cooldown holds a scale-down after the pool's own last action: A's, not B's."""
    for two in two_pools(moto_endpoint, bucket, tmp_path, ":cooldown=600"):
        add_request(two.store, two.a, "up")
        assert two.run().returncode == 0
        wait_running(two.emu, two.a)
        add_request(two.store, two.a, "down")
        add_request(two.store, two.b, "down")
        proc = two.run()
        assert proc.returncode == 0, proc.stderr
        assert (two.calls(two.a), two.calls(two.b)) == ([3], ["evict-instance-pool-members"])
        assert [r["action"] for r in history(two.store, two.a)] == ["scale-up", "cooldown"]


def test_any_exception_in_one_pool_is_logged_and_the_other_acts(
        two: Two, caplog: pytest.LogCaptureFixture) -> None:
    cfg = config.load(two.env)
    client = make_client(cfg)

    def api_for(pool: config.Config) -> PoolApi:
        if pool.pool_name == "a":
            raise RuntimeError("a surprise")
        return PoolApi(client, pool.pool_id)
    add_request(two.store, two.b, "up")
    tag = pools.PoolTag()
    caplog.handler.addFilter(tag)  # as main() puts it on the process's log handler
    with caplog.at_level(logging.INFO):
        assert pools.run_all(cfg.each_pool(), lambda p, probe: tick_pool(p, two.store, api_for(p), probe),
                             tag) == 1
    assert two.calls(two.b) == [3]
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert getattr(failure, "pool", None) == "a" and "a surprise" in caplog.text


def test_dry_run_prints_one_object_per_pool(two: Two) -> None:
    add_request(two.store, two.b, "up")
    proc = two.run("--dry-run")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert sorted(shown) == ["a", "b"]
    assert (shown["a"]["decision"]["action"], shown["b"]["decision"]["action"]) == ("none", "scale-up")
    assert scaling_calls(two.emu) == [] and list(two.textdir.iterdir()) == []
