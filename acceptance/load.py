"""A closed-loop load driver: `clients` threads, each sending GET `url` again as soon as its previous
request ended, until stopped, out of its request budget, or past its deadline (always bounded).

    with LoadDriver("http://nlb/load", clients=4, duration_s=600, max_requests=2000) as load:
        ...                       # the load runs in the background
    result = load.result()        # ok / errors / by-kind counts

http-load-generator answers GET /load after 10 s whatever the load, so the client timeout must be
well above 10 s (default 30 s). Independent of terraform and of any cloud: the sandbox uses it too.
"""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

Get = Callable[[str, float], int]   # (url, timeout) -> HTTP status; raises OSError on failure
DEFAULT_TIMEOUT_S = 30.0
# How many concurrent clients the acceptance run and the sandbox's checker scenario drive: two
# requests always in flight are two members' worth on http-load-generator, which the scaler covers
# with ceil(2 / 0.6) = 4 members at 50 % CPU in one round (4 clients would need 7, one round more
# than SCALER_MAX_STEP 4 allows from one member).
GRADER_CLIENTS = 2


def http_get(url: str, timeout: float) -> int:
    """The default client: one GET, body read and discarded; 4xx/5xx come back as their status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@dataclass
class LoadResult:
    ok: int = 0
    errors: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)   # "200", "503", "timeout", "ConnectionRefusedError" ...
    started: float = 0.0
    ended: float | None = None

    @property
    def requests(self) -> int:
        return self.ok + self.errors


class LoadDriver:
    def __init__(self, url: str, *, clients: int, duration_s: float, max_requests: int,
                 timeout_s: float = DEFAULT_TIMEOUT_S, get: Get = http_get,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if clients < 1 or max_requests < 1 or duration_s <= 0 or timeout_s <= 0:
            raise ValueError("clients and max_requests must be >= 1, duration_s and timeout_s > 0")
        self.url, self.clients, self.duration_s = url, clients, duration_s
        self.max_requests, self.timeout_s = max_requests, timeout_s
        self._get, self._clock = get, clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._claimed = 0
        self._result = LoadResult()
        self._threads: list[threading.Thread] = []
        self._deadline = 0.0

    def start(self) -> LoadDriver:
        if self._threads:
            raise RuntimeError("a LoadDriver runs once")
        self._result.started = self._clock()
        self._deadline = self._result.started + self.duration_s
        self._threads = [threading.Thread(target=self._client, name=f"load-{i}", daemon=True)
                         for i in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def _claim(self) -> bool:
        """One request slot, unless stopped, out of budget or past the deadline."""
        with self._lock:
            if self._stop.is_set() or self._claimed >= self.max_requests or self._clock() >= self._deadline:
                return False
            self._claimed += 1
            return True

    def _record(self, kind: str, ok: bool) -> None:
        with self._lock:
            self._result.by_kind[kind] += 1
            if ok:
                self._result.ok += 1
            else:
                self._result.errors += 1

    def _client(self) -> None:
        while self._claim():
            try:
                status = self._get(self.url, self.timeout_s)
                self._record(str(status), 200 <= status < 300)
            except TimeoutError:
                self._record("timeout", False)
            except OSError as err:
                reason = getattr(err, "reason", err)
                self._record("timeout" if isinstance(reason, TimeoutError) else type(reason).__name__, False)

    def stop(self) -> None:
        """No new requests; those in flight finish (each within the client timeout)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> LoadResult:
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            if self._result.ended is None and not any(t.is_alive() for t in self._threads):
                self._result.ended = self._clock()
        return self.result()

    def result(self) -> LoadResult:
        """A copy of the counts so far."""
        with self._lock:
            r = self._result
            return LoadResult(r.ok, r.errors, Counter(r.by_kind), r.started, r.ended)

    def __enter__(self) -> LoadDriver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()


def run_load(url: str, *, clients: int, duration_s: float, max_requests: int,
             timeout_s: float = DEFAULT_TIMEOUT_S, get: Get = http_get) -> LoadResult:
    """Run a bounded load to its end (budget or deadline) and return the counts."""
    driver = LoadDriver(url, clients=clients, duration_s=duration_s, max_requests=max_requests,
                        timeout_s=timeout_s, get=get)
    driver.start()
    return driver.join()
