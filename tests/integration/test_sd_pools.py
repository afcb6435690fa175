"""Discovery over two emulator pools: one call per pool, one file (the union, every target labelled
with its pool), and a pool whose call fails keeps its previous targets while the other is refreshed."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.common import config, keys
from functions.common.exo import PoolApi, make_client
from functions.common.store import Store
from functions.sd.__main__ import cycle
from tests.conftest import handler_env
from tests.integration.tickkit import start_emulator, wait_running

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(moto_endpoint: str, bucket: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    emu, a = start_emulator(3, boot_delay_s=0.05)
    b = emu.create_pool(2)
    (tmp_path / "textfile").mkdir()
    env = handler_env(moto_endpoint, bucket, INSTANCEPOOL_ID="", EXOSCALE_API_URL=emu.url,
                      INSTANCEPOOLS=f"a={a},b={b}", SD_OUTPUT=str(tmp_path / "file_sd" / "pool.json"),
                      TEXTFILE_DIR=str(tmp_path / "textfile"))
    cfg = config.load(env)
    yield {"emu": emu, "a": a, "b": b, "env": env, "cfg": cfg, "out": Path(cfg.sd_output),
           "store": Store.from_config(cfg), "textfile": tmp_path / "textfile" / "autoscaler_sd.prom"}
    emu.stop()


def sd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "functions.sd", *args],
                          env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def by_pool(path: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for group in json.loads(path.read_text()):
        found.setdefault(group["labels"]["pool"], set()).add(group["labels"]["instance_id"])
    return found


def members(world: dict[str, Any], pool_id: str) -> set[str]:
    return {i.id for i in world["emu"].model.list_instances(manager_id=pool_id) if i.state == "running"}


class FailingFor:
    """The exoscale client, except that listing one pool's members drops the connection."""

    def __init__(self, client: Any, pool_id: str) -> None:
        self.client, self.pool_id = client, pool_id

    def list_instances(self, **kwargs: Any) -> Any:
        if kwargs.get("manager_id") == self.pool_id:
            raise requests.ConnectionError("connection dropped")
        return self.client.list_instances(**kwargs)


def test_one_call_per_pool_and_one_file_with_every_pools_targets(world: dict[str, Any]) -> None:
    proc = sd(world["env"])
    assert proc.returncode == 0, proc.stderr
    assert by_pool(world["out"]) == {"a": members(world, world["a"]), "b": members(world, world["b"])}
    groups = json.loads(world["out"].read_text())
    assert {(g["labels"]["pool"], g["labels"]["pool_id"]) for g in groups} == {
        ("a", world["a"]), ("b", world["b"])}
    calls = [r for r in world["emu"].requests() if r.operation_id]
    assert [r.operation_id for r in calls] == ["list-instances"] * 2
    for name in ("a", "b"):
        snap = world["store"].get(keys.discovery(world[name])).body
        assert {t["instance_id"] for t in snap["targets"]} == members(world, world[name])
    assert "autoscaler_sd_targets 5.0" in world["textfile"].read_text()
    world["out"].unlink()
    world["emu"].stop()  # restore reads only the snapshots
    restored = sd(world["env"], "--restore")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(world["out"].read_text()) == groups


def test_a_failing_pool_keeps_its_targets_while_the_other_is_refreshed(
        world: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    cfg, store = world["cfg"], world["store"]
    client = make_client(cfg)
    assert cycle(cfg, PoolApi(client, cfg.pool_id), store, time.time()) == 0
    before = by_pool(world["out"])
    prom = world["textfile"].read_text()
    for pool_id in (world["a"], world["b"]):  # both change; only b's change may show
        world["emu"].model.scale(pool_id, 4)
        wait_running(world["emu"], pool_id)
    broken = PoolApi(FailingFor(client, world["a"]), cfg.pool_id)
    with caplog.at_level(logging.INFO):
        assert cycle(cfg, broken, store, time.time()) == 1
    after = by_pool(world["out"])
    assert after["a"] == before["a"] and len(after["a"]) == 3
    assert after["b"] == members(world, world["b"]) and len(after["b"]) == 4
    assert "pool a: list_instances failed" in caplog.text and "1 of 2 pools not discovered: a" in caplog.text
    assert world["textfile"].read_text() == prom  # the last success is the last full one
    # a's snapshot is gone too: its targets then come from the file Prometheus reads now
    store.delete_many([keys.discovery(world["a"])])
    assert cycle(cfg, broken, store, time.time()) == 1
    assert by_pool(world["out"]) == after


def test_every_pool_failing_leaves_the_file_untouched(world: dict[str, Any]) -> None:
    assert sd(world["env"]).returncode == 0
    before = world["out"].read_text()
    world["emu"].set_faults({"rules": [{"operations": ["list-instances"], "error_5xx_rate": 1.0}]})
    proc = sd(world["env"])
    assert proc.returncode == 1 and proc.stderr.count("list_instances failed") == 2
    assert world["out"].read_text() == before
