"""Helpers for the reliability suite: the world of one tick (the proxy is tests/tcpproxy.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.common import config
from functions.common.exo import PoolApi, make_client
from functions.common.store import Store
from functions.scaler.tick import Tick
from sandbox.emulator.server import EmulatorServer


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
