"""The kick: touching SCALER_KICK_FILE starts a tick at once (autoscaler-tick.path on the VM).

Two writers share it: the receiver after it stored requests (rate-limited by `Kicker`, since
deliveries can arrive in bursts) and discovery when the pool's running members changed (`touch`
directly: it runs at most once per 15 s, so it needs no limit of its own).
"""
from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

# systemd refuses a 6th start of a service within 10 s (DefaultStartLimitBurst=5); one receiver
# kick per 3 s at most, plus discovery's (≤ 1 per 15 s) and the 60 s timer, stays inside the tick
# service's limit however many deliveries arrive.
KICK_MIN_INTERVAL_S = 3.0

Clock = Callable[[], float]
Schedule = Callable[[float, Callable[[], None]], None]


def later(delay_s: float, action: Callable[[], None]) -> None:
    """Run `action` once, `delay_s` from now, on a daemon thread."""
    timer = threading.Timer(delay_s, action)
    timer.daemon = True
    timer.start()


def touch(path: str) -> None:
    """Bump the file's mtime (create it the first time). Never raises, never syncs: a lost kick
    only means the work waits for the 60 s timer, so it must not fail or slow the caller."""
    with contextlib.suppress(OSError):
        Path(path).touch()


class Kicker:
    """Touches the kick file after stored requests: at once, or, within `min_interval_s` of the
    last kick, once more when that interval ends, so every stored request is followed by a kick
    within the interval while the tick service is started no more often than that."""

    def __init__(self, path: str, min_interval_s: float = KICK_MIN_INTERVAL_S,
                 clock: Clock = time.monotonic, schedule: Schedule = later) -> None:
        self.path, self.min_interval_s, self.clock, self.schedule = path, min_interval_s, clock, schedule
        self._lock = threading.Lock()
        self._last = -math.inf
        self._deferred = False

    def __call__(self) -> None:
        with self._lock:
            wait = self._last + self.min_interval_s - self.clock()
            if wait <= 0:
                self._last = self.clock()
            elif self._deferred:
                return  # the deferred kick will also cover this request
            else:
                self._deferred = True
        if wait <= 0:
            touch(self.path)
            return
        self.schedule(wait, self._deferred_kick)

    def _deferred_kick(self) -> None:
        with self._lock:
            self._deferred = False
            self._last = self.clock()
        touch(self.path)
