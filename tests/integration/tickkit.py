"""Helpers shared by the tick and discovery tests: an emulator with one pool, requests, history."""
from __future__ import annotations

import time
from typing import Any

from functions.common import config, keys
from functions.common.store import Store
from functions.scaler.scale_request import ScaleRequest
from sandbox.emulator.server import EmulatorServer
from tests.conftest import KEY, SECRET, handler_env


def start_emulator(size: int, **kwargs: Any) -> tuple[EmulatorServer, str]:
    kwargs.setdefault("boot_delay_s", 0.2)
    kwargs.setdefault("op_delay_s", 0.05)
    kwargs.setdefault("destroy_delay_s", 0.05)
    emu = EmulatorServer(KEY, SECRET, **kwargs).start()
    return emu, emu.create_pool(size)


def env_for(endpoint: str, bucket: str, emu: EmulatorServer, pool_id: str, **extra: str
            ) -> dict[str, str]:
    return handler_env(endpoint, bucket, **{"INSTANCEPOOL_ID": pool_id,
                                            "EXOSCALE_API_URL": emu.url, "SCALER_LEASE_S": "30",
                                            **extra})


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


def wait_running(emu: EmulatorServer, pool_id: str, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        pool = emu.model.get_pool(pool_id) if hasattr(emu.model, "get_pool") else None
        state = pool.state if pool is not None else None
        if state == "running":
            return
        time.sleep(0.05)
    raise AssertionError(f"pool {pool_id} not running after {timeout}s")


def cfg_for(env: dict[str, str]) -> config.Config:
    return config.load(env)
