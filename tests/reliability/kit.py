"""Helpers for the reliability suite: a cuttable TCP proxy and the world of one tick."""
from __future__ import annotations

import select
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from functions.common import config
from functions.common.exo import PoolApi, make_client
from functions.common.store import Store
from functions.scaler.tick import Tick
from sandbox.emulator.server import EmulatorServer


class CutProxy:
    """TCP proxy in front of a loopback server that can be cut and restored.

    Cut means every connection is reset at once (new ones and open keep-alive ones), so a
    client fails fast instead of waiting for its timeouts: an outage, not a slowdown.
    """

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", int(target.port or 80))
        self.cut = threading.Event()
        self.closed = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        # SO_LINGER 0: close() sends RST, the client sees "connection reset" immediately.
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                self._reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            self._reset(client)
            return
        pair = {client: upstream, upstream: client}
        try:
            while not self.closed and not self.cut.is_set():
                ready, _, _ = select.select(list(pair), [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except OSError:
            pass
        finally:
            self._reset(client)
            upstream.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


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
