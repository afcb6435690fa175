"""Helpers shared by the tick tests (integration and reliability): one pool in the emulator,
its bucket on moto, requests as the receiver stores them, the history, the scaling calls."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from functions.bucket.request import ScaleRequest
from functions.bucket.state import ScalerState
from functions.common import config, keys
from functions.common.exo import PoolApi, make_client
from functions.common.store import Store
from functions.scaler.tick.run import Tick
from sandbox.emulator.server import EmulatorServer
from tests.conftest import KEY, SECRET, handler_env
from tests.fake_exporters import refused_port
from tests.waiting import wait_for

NO_EXPORTER = refused_port()


def start_emulator(size: int, **kwargs: Any) -> tuple[EmulatorServer, str]:
    kwargs.setdefault("boot_delay_s", 0.2)
    kwargs.setdefault("op_delay_s", 0.05)
    kwargs.setdefault("destroy_delay_s", 0.05)
    emu = EmulatorServer(KEY, SECRET, **kwargs).start()
    return emu, emu.create_pool(size)


def env_for(endpoint: str, bucket: str, emu: EmulatorServer, pool_id: str, **extra: str
            ) -> dict[str, str]:
    # The emulator's members are 127.0.1.N, where a sandbox running beside the tests serves node
    # exporters on 9100: a port nobody listens on keeps a scale-down from reading its figures.
    return handler_env(endpoint, bucket, **{"INSTANCEPOOL_ID": pool_id,
                                            "EXOSCALE_API_URL": emu.url, "SCALER_LEASE_S": "30",
                                            "TARGET_PORT": str(NO_EXPORTER), **extra})


@dataclass
class World:
    """One pool in the emulator, its bucket on moto, and the handler environment."""
    emu: EmulatorServer
    pool: str
    env: dict[str, str]
    cfg: config.Config
    store: Store

    def tick(self, timeout: tuple[float, float] | None = None, **over: Any) -> Tick:
        """A Tick as main() builds it, optionally with a short-timeout API client."""
        cfg = self.cfg if not over else config.load(
            {**self.env, **{k: str(v) for k, v in over.items()}})
        client = make_client(cfg) if timeout is None else make_client(cfg, timeout=timeout)
        return Tick(cfg, self.store, PoolApi(client, cfg.pool_id))

    def size(self) -> int:
        return self.emu.model.get_pool(self.pool).size

    def state(self) -> ScalerState:
        stored = self.store.get(keys.scaler_state(self.pool))
        assert stored is not None and stored.body is not None
        return ScalerState.from_json(stored.body)


@contextmanager
def tick_world(endpoint: str, bucket: str, size: int = 2, emulator: dict[str, Any] | None = None,
               **env: str) -> Iterator[World]:
    emu, pool_id = start_emulator(size, **(emulator or {}))
    try:
        full = env_for(endpoint, bucket, emu, pool_id, **env)
        cfg = config.load(full)
        yield World(emu, pool_id, full, cfg, Store.from_config(cfg))
    finally:
        emu.stop()


def add_request(store: Store, pool_id: str, direction: str, *, value: float | None = None,
                at: float | None = None, fingerprint: str = "fp") -> str:
    req = ScaleRequest(direction, "alertmanager", at if at is not None else time.time(),
                       "PoolCpuHigh" if direction == "up" else "PoolCpuLow", fingerprint, value)
    key = keys.request(pool_id, req.received_ms, req.unique())
    store.put(key, req.to_json(), if_none_match=True)
    return key


def pending_keys(store: Store, pool_id: str) -> list[str]:
    return list(store.list_keys(keys.requests_prefix(pool_id)))


def history(store: Store, pool_id: str) -> list[dict[str, Any]]:
    return [item.body for item in store.read_all(keys.history_prefix(pool_id)) if item.body]


def scaling_calls(emu: EmulatorServer) -> list[Any]:
    return [op for op in emu.operations()
            if op.operation in ("scale-instance-pool", "evict-instance-pool-members")]


def wait_running(emu: EmulatorServer, pool_id: str) -> None:
    """Until the pool is running again (after the emulator's boot delay)."""
    wait_for(f"pool {pool_id} running", lambda: emu.model.get_pool(pool_id).state == "running")


def cfg_for(env: dict[str, str]) -> config.Config:
    return config.load(env)
