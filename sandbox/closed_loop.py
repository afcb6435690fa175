"""Closed-loop load for the checker scenario: `clients` concurrent clients each sending GET /load again as
soon as the previous answer came, through acceptance/load.py's LoadDriver, the code `./dev acceptance`
drives a real deployment with, so the rehearsal and the real check are one piece of code.

This module only records every request the driver makes (start, end, status) so the runner's live
figures and the report read it like the open-loop generator's (sandbox/loadgen.py).
"""
from __future__ import annotations

import threading
import time

from acceptance.load import Get, LoadDriver, http_get
from sandbox.load_figures import Figures, Record, Summary, summarise, window_figures
from sandbox.loopback_http import require_loopback


class ClosedLoad:
    """Steady /load from `clients` clients for `duration_s`, then none (requests in flight finish)."""

    def __init__(self, host: str, port: int, *, clients: int, duration_s: float, timeout_s: float,
                 get: Get = http_get) -> None:
        self._get = get
        self.duration_s = duration_s
        self._lock = threading.Lock()
        self._arrivals: list[float] = []
        self._records: list[Record] = []
        self._in_flight = 0
        self._t0 = 0.0
        # one request per client per second at most: a bound far above 10 s requests, reached only
        # if every request failed at once (no healthy member)
        self.driver = LoadDriver(f"http://{require_loopback(host)}:{port}/load", clients=clients,
                                 duration_s=duration_s, max_requests=clients * max(1, int(duration_s)),
                                 timeout_s=timeout_s, get=self._recorded_get)

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _recorded_get(self, url: str, timeout: float) -> int:
        with self._lock:
            start = self._now()
            self._arrivals.append(start)
            self._in_flight += 1
        status, error = 0, ""
        try:
            status = self._get(url, timeout)
            error = "" if status == 200 else "http"
            return status
        except TimeoutError:
            error = "timeout"
            raise
        except OSError as exc:
            error = "timeout" if isinstance(getattr(exc, "reason", None), TimeoutError) else "conn"
            raise
        finally:
            with self._lock:  # `end` under the lock keeps records sorted by it for window_figures
                self._records.append(Record(start, self._now(), status, error))
                self._in_flight -= 1

    def start(self) -> None:
        self._t0 = time.monotonic()
        self.driver.start()

    def stop(self) -> None:
        """No new requests; those in flight finish within the client timeout."""
        self.driver.stop()
        self.driver.join(timeout=self.driver.timeout_s + 5)

    def figures(self, window_s: float = 10.0) -> Figures:
        with self._lock:
            return window_figures(self._arrivals, self._records, self._now(), window_s, self._in_flight)

    def records(self) -> list[Record]:
        """Every finished request so far, in completion order."""
        with self._lock:
            return list(self._records)

    def summary(self) -> Summary:
        with self._lock:
            records = list(self._records)
        return summarise(records, min(self._now(), self.duration_s))
