"""Open-loop load generator for the sandbox: sends GET /load to a loopback target on a rate profile.

Owns the arrival schedule (pure: `Profile`, `arrival_offsets`), the request threads and the full
record of every request; the figures read from the records are sandbox/load_figures.py's.
Open loop means arrivals follow the profile whatever the target does, as real users would; the
`max_inflight` bound turns arrivals that would exceed it into recorded "overflow" errors instead
of unbounded threads, and every request has a timeout, so a run always ends on time.
"""

from __future__ import annotations

import http.client
import math
import random
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from sandbox.load_figures import Figures, Record, Summary, summarise, window_figures
from sandbox.loopback_http import require_loopback

# ---- functional core: the rate profile and the arrival schedule ----------------------------


@dataclass(frozen=True)
class Profile:
    """Requests per second over time: points [(t_s, rps), ...] sorted by time.

    `ramp=False`: each rate holds until the next point (steps). `ramp=True`: linear between
    points. Before the first point the rate is 0; after the last it holds the last rate.
    """

    points: tuple[tuple[float, float], ...]
    ramp: bool = False

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("profile needs at least one (t, rps) point")
        times = [t for t, _ in self.points]
        if times != sorted(times) or times[0] < 0 or any(r < 0 for _, r in self.points):
            raise ValueError("profile points must have ascending t >= 0 and rps >= 0")

    def _segments(self) -> Iterator[tuple[float, float, float, float]]:
        """(start, end, rate at start, rate at end) pieces covering [0, inf)."""
        first_t = self.points[0][0]
        if first_t > 0:
            yield 0.0, first_t, 0.0, 0.0
        for (t0, r0), (t1, r1) in pairwise(self.points):
            yield t0, t1, r0, (r1 if self.ramp else r0)
        last_t, last_r = self.points[-1]
        yield last_t, math.inf, last_r, last_r

    def rate(self, t: float) -> float:
        for start, end, r0, r1 in self._segments():
            if start <= t < end:
                return r0 if end == math.inf else r0 + (r1 - r0) * (t - start) / (end - start)
        return 0.0

    def expected(self, t: float) -> float:
        """Expected number of arrivals in [0, t]: the integral of the rate."""
        total = 0.0
        for start, end, r0, r1 in self._segments():
            if t <= start:
                break
            x = min(t, end) - start
            slope = 0.0 if end == math.inf else (r1 - r0) / (end - start)
            total += r0 * x + slope * x * x / 2
        return total

    def time_at(self, count: float) -> float:
        """Inverse of expected(): when the integral reaches `count` (inf if never)."""
        done = 0.0
        for start, end, r0, r1 in self._segments():
            if end == math.inf:
                slope, here = 0.0, (math.inf if r0 > 0 else 0.0)
            else:
                length = end - start
                slope = (r1 - r0) / length
                here = r0 * length + slope * length * length / 2
            if done + here >= count:
                c = count - done
                # solve r0 x + slope x^2 / 2 = c in the form 2c / (b + sqrt(b^2 + 4ac)), which
                # stays stable for slope -> 0 and for either sign of slope
                a, b = slope / 2, r0
                disc = max(b * b + 4 * a * c, 0.0)
                denom = b + math.sqrt(disc)
                return start + (2 * c / denom if denom > 0 else 0.0)
            done += here
        return math.inf


def arrival_offsets(profile: Profile, duration_s: float, poisson: bool = False,
                    rng: random.Random | None = None) -> Iterator[float]:
    """Arrival times (s from start) in [0, duration_s): evenly spaced, or a Poisson process.

    Both map unit steps of the integrated rate back to time, so ramps are exact; the Poisson
    variant uses exponential steps (a non-homogeneous Poisson process by time change).
    """
    rng = rng or random.Random()
    count = 0.0
    while True:
        count += rng.expovariate(1.0) if poisson else 1.0
        t = profile.time_at(count)
        if t >= duration_s:
            return
        yield t


# ---- imperative shell ------------------------------------------------------------------------


class LoadGen:
    """Drives `profile` against http://host:port{path} for `duration_s`, then stops by itself."""

    def __init__(
        self,
        host: str,
        port: int,
        profile: Profile | Sequence[tuple[float, float]],
        *,
        duration_s: float,
        path: str = "/load",
        max_inflight: int = 64,
        timeout_s: float = 10.0,
        poisson: bool = False,
        seed: int | None = None,
    ) -> None:
        self.host = require_loopback(host)
        self.port = port
        self.path = path
        self.profile = profile if isinstance(profile, Profile) else Profile(tuple(profile))
        self.duration_s = duration_s
        self.max_inflight = max_inflight
        self.timeout_s = timeout_s
        self.poisson = poisson
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Condition(self._lock)  # signalled when in-flight drops to 0
        self._arrivals: list[float] = []
        self._records: list[Record] = []
        self._in_flight = 0
        self._t0 = 0.0
        self._ended: float | None = None
        self._dispatcher: threading.Thread | None = None

    # ---- control --------------------------------------------------------------------------

    def start(self) -> None:
        if self._dispatcher:
            raise RuntimeError("load generator already started")
        self._t0 = time.monotonic()
        self._dispatcher = threading.Thread(target=self._dispatch, name="loadgen", daemon=True)
        self._dispatcher.start()

    def stop(self) -> None:
        """Stop sending; requests already in flight finish within their timeout (see wait())."""
        self._stop.set()
        if self._dispatcher:
            self._dispatcher.join()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the profile has ended (or stop()) and nothing is in flight; True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._dispatcher:
            self._dispatcher.join(timeout)
            if self._dispatcher.is_alive():
                return False
        with self._idle:
            while self._in_flight:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    @property
    def done(self) -> bool:
        with self._lock:
            in_flight = self._in_flight
        return self._dispatcher is not None and not self._dispatcher.is_alive() and in_flight == 0

    # ---- reading --------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self._t0 if self._dispatcher else 0.0

    def figures(self, window_s: float = 10.0) -> Figures:
        now = self.elapsed()
        with self._lock:
            return window_figures(self._arrivals, self._records, now, window_s, self._in_flight)

    def records(self) -> list[Record]:
        """Every finished request so far, in completion order (overflow ones included)."""
        with self._lock:
            return list(self._records)

    def summary(self) -> Summary:
        with self._lock:
            records = list(self._records)
        # the sending period: the whole profile, or until stop()
        ended = self._ended if self._ended is not None else min(self.elapsed(), self.duration_s)
        return summarise(records, ended)

    # ---- work -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        try:
            for offset in arrival_offsets(self.profile, self.duration_s, self.poisson, self._rng):
                # Sleeping on the stop event wakes at once on stop(); if we fall behind (a slow
                # host), late arrivals go out immediately rather than being silently dropped.
                if self._stop.wait(max(0.0, self._t0 + offset - time.monotonic())):
                    return
                self._arrive(offset)
            # a quiet tail of the profile is part of the run: stay "running" until its end
            self._stop.wait(max(0.0, self._t0 + self.duration_s - time.monotonic()))
        finally:
            self._ended = min(time.monotonic() - self._t0, self.duration_s)

    def _arrive(self, offset: float) -> None:
        with self._lock:
            self._arrivals.append(offset)
            if self._in_flight >= self.max_inflight:
                self._records.append(Record(offset, time.monotonic() - self._t0, 0, "overflow"))
                return
            self._in_flight += 1
        threading.Thread(target=self._request, args=(offset,), daemon=True).start()

    def _request(self, offset: float) -> None:
        status, error = 0, ""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("GET", self.path)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            error = "" if status == 200 else "http"
        except TimeoutError:
            error = "timeout"
        except (OSError, http.client.HTTPException):
            error = "conn"
        finally:
            conn.close()
            with self._lock:
                # `end` is taken under the lock so records stay sorted by it for window_figures
                self._records.append(Record(offset, time.monotonic() - self._t0, status, error))
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle.notify_all()
