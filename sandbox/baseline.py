"""The classic scaler the deployed policies are compared with: ±1 at once on every delivered alert.

What the benchmark's baseline models (benchmarks/pipeline.py, BaselineController), run for real:
a webhook receiver on loopback that, for each firing scale alert of each delivery, reads the
pool's size through the `exoscale` client and calls scale-instance-pool with one more or one
less, within SCALER_MIN_SIZE..SCALER_MAX_SIZE. Resolved alerts are ignored; there is no tick,
no batching, no cooldown and no bucket. It is the sandbox's yardstick, not part of the product:
`python -m sandbox --policy baseline` starts it (`python -m sandbox.baseline`, with the
receiver's environment) in place of the receiver and the tick, and everything else of the run
(members, NLB, Prometheus, Alertmanager, load, the measures from outside) stays the same.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from functions.common import config
from functions.common.exo import API_ERRORS, PoolApi
from functions.scaler.receiver import intake, payload
from sandbox.loopback_http import QuietHandler, ServerThread

log = logging.getLogger("sandbox.baseline")
MAX_BODY = 1 << 20
STEP = {"up": 1, "down": -1}


def directions(body: bytes) -> tuple[str, ...]:
    """Pure: one direction per firing scale alert of a delivery, in its order (resolved and
    unlabelled alerts give none). Raises payload.ParseError on a body of the wrong shape."""
    return tuple(r.direction for r in payload.parse(body, 0.0).requests)


def next_size(size: int, direction: str, low: int, high: int) -> int | None:
    """Pure: the size one alert asks for, or None when the pool is already at that bound."""
    target = size + STEP[direction]
    return target if low <= target <= high else None


class Classic:
    """The shell: applies a delivery's alerts one by one against the pool, one delivery at a time
    (a delivery's reads and calls never interleave with another's)."""

    def __init__(self, api: PoolApi, low: int, high: int) -> None:
        self.api, self.low, self.high = api, low, high
        self.lock = threading.Lock()

    def apply(self, moves: Sequence[str]) -> list[dict[str, Any]]:
        done = []
        with self.lock:
            for direction in moves:
                size = int(self.api.pool().get("size", 0))
                target = next_size(size, direction, self.low, self.high)
                if target is not None:
                    self.api.scale(target)
                done.append({"direction": direction, "size": size, "scaled_to": target})
        return done


def make_handler(classic: Classic, token: str | None) -> type[QuietHandler]:
    class BaselineHandler(QuietHandler):
        def do_POST(self) -> None:
            if self.path.split("?")[0] != "/webhook":
                return self.send_text(404, "not found\n")
            if not intake.authorized(self.headers.get("Authorization"), token):
                return self.send_text(401, "unauthorized\n")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.send_text(413, "body too large\n")
            try:
                moves = directions(self.rfile.read(length))
            except payload.ParseError as exc:
                return self.send_text(400, f"{exc}\n")
            try:
                done = classic.apply(moves)
            except API_ERRORS as exc:
                log.warning("scaling call failed: %s", exc)
                return self.send_text(502, f"scaling call failed: {exc}\n")
            log.info("delivery: %s", done)
            self.send_text(200, json.dumps({"applied": done}) + "\n", "application/json")

    return BaselineHandler


def serve(cfg: config.Config, api: PoolApi) -> ServerThread:
    """The receiver on cfg's loopback address and port, already serving."""
    server = ServerThread(cfg.listen_addr, cfg.listen_port,
                          make_handler(Classic(api, cfg.min_size, cfg.max_size), cfg.token))
    server.start()
    return server


def main(env: dict[str, str] | None = None,
         api_for: Callable[[config.Config], PoolApi] = PoolApi.from_config) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s baseline %(message)s")
    try:
        cfg = config.load(dict(os.environ) if env is None else env)
    except config.ConfigError as exc:
        print(f"baseline: {exc}", file=sys.stderr)
        return 2
    server = serve(cfg, api_for(cfg))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    server.begin_stop().join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
